"""``caviar diagnose``: the vanishing-gradient difference in its JSON, plots, errors."""

from __future__ import annotations

import json

from caviar.cli.main import main

CONFIG = """
[data]
source = "iris"
[model]
hidden = [6, 6, 6, 6, 6]
activation = ["sigmoid", "relu"]
init = "glorot_uniform"
[optimizer]
name = "sgd"
lr = 0.1
[train]
epochs = 3
"""


def test_diagnose_shows_vanishing_sigmoid_gradients(tmp_path, capsys) -> None:
    cfg = tmp_path / "deep.toml"
    cfg.write_text(CONFIG)
    out = tmp_path / "diag"
    code = main(
        ["diagnose", str(cfg), "-o", str(out), "--epochs", "3", "--lr-steps", "30", "--json"]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    sig, relu = report["reports"]
    assert sig["config"]["model"]["activation"] == "sigmoid"
    r_sig = sig["gradient_norms"]["first_to_last_ratio"]
    r_relu = relu["gradient_norms"]["first_to_last_ratio"]
    assert r_sig < 1e-2 * r_relu  # :ref:`bg-vanishing-gradients`: sigmoid's first layers vanish
    for rep in (sig, relu):
        assert rep["gradient_check"]["ok"]
        assert len(rep["gradient_check"]["tensors"]) == 12
        assert rep["conditioning"]["method"] == "svd"
        assert rep["lr_range_test"]["suggested_lr"] > 0
        assert rep["fit"]["verdict"] in {"not learning", "underfitting", "overfitting", "fine"}
    names = sorted(p.name for p in out.iterdir())
    assert "report.json" in names and "config0_gradient_norms.png" in names
    assert "config1_learning_curves.png" in names
    assert len(sig["fit"]["history"]["val_loss"]) == 3
    assert (out / "config1_lr_range.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_diagnose_full_batch_text_and_bad_input(tmp_path, capsys) -> None:
    cfg = tmp_path / "fb.toml"
    cfg.write_text(
        '[data]\nsource = "iris"\n[model]\nhidden = [3]\n[optimizer]\nname = "bfgs"\n'
        "[train]\nepochs = 3\n"
    )
    assert main(["diagnose", str(cfg), "-o", str(tmp_path / "o"), "--epochs", "2"]) == 0
    text = capsys.readouterr().out
    assert "gradient check" in text and "not applicable" in text
    bad = tmp_path / "bad.toml"
    bad.write_text('[data]\nsource = "iris"\n[optimizer]\nname = "nope"\n')
    assert main(["diagnose", str(bad), "-o", str(tmp_path / "x")]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: unknown optimizer 'nope'") and "lbfgs" in last
    assert not (tmp_path / "x").exists()
