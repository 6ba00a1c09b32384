"""End-to-end: `caviar train` then `caviar predict`, and one-line errors for bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from caviar.cli import main

IRIS = """
[data]
source = "{source}"
{target}
[model]
hidden = [8]
[optimizer]
name = "adam"
lr = [0.01, 0.03]
[train]
epochs = 30
batch_size = 16
patience = 10
"""


def write_config(tmp_path: Path, source="iris", target="", **replace) -> Path:
    text = IRIS.format(source=source, target=target)
    for old, new in replace.items():
        text = text.replace(old, new)
    path = tmp_path / "cfg.toml"
    path.write_text(text)
    return path


def test_train_then_predict_round_trip(tmp_path, capsys):
    # a CSV with string labels and a categorical feature, to check label mapping back
    rng = np.random.default_rng(0)
    n = 240
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    color = rng.choice(["red", "green"], size=n)
    label = np.where(x1 + (color == "red") > 0.5, "yes", "no")
    frame = pd.DataFrame({"x1": x1, "x2": x2, "color": color, "answer": label})
    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    cfg = write_config(tmp_path, source=str(csv), target='target = "answer"')
    out = tmp_path / "run"
    assert main(["train", str(cfg), "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_configs"] == 2 and summary["n_populations"] == 1
    assert summary["best"]["val_score"] > 0.85
    assert 0.0 <= summary["test_score"] <= 1.0
    for name in (
        "model/model.json",
        "model/model.safetensors",
        "leaderboard.csv",
        "history.csv",
        "summary.json",
    ):
        assert (out / name).is_file(), name
    board = pd.read_csv(out / "leaderboard.csv")
    assert list(board["rank"]) == [1, 2]
    history = pd.read_csv(out / "history.csv")
    assert set(history["member"]) == {0, 1}

    preds = tmp_path / "preds.csv"
    assert main(["predict", str(out / "model"), str(csv), "-o", str(preds)]) == 0
    p = pd.read_csv(preds)
    assert set(p["prediction"]) <= {"yes", "no"}
    np.testing.assert_allclose(p["proba_no"] + p["proba_yes"], 1.0, rtol=1e-9)
    assert (p["prediction"] == frame["answer"]).mean() > 0.85


def test_predict_on_bundled_regression(tmp_path, capsys):
    cfg = write_config(tmp_path, source="diabetes")
    out = tmp_path / "run"
    assert main(["train", str(cfg), "-o", str(out), "-q"]) == 0
    assert "best member" in capsys.readouterr().out
    assert main(["predict", str(out / "model"), "diabetes"]) == 0
    p = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert len(p) == 442 and np.isfinite(p["prediction"]).all()


def run_cli(*args, cwd):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, "-m", "caviar.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


BAD_CASES = [
    ("missing config", None, "config file not found"),
    ("unknown dataset", {"iris": "nosuchdata"}, "unknown dataset 'nosuchdata'"),
    ("missing data file", {"iris": "absent.csv"}, "data file not found"),
    ("negative lr", {"0.01, 0.03": "-0.01"}, "optimizer.lr"),
    ("batch size 0", {"batch_size = 16": "batch_size = 0"}, "batch size"),
    ("wrong type", {"epochs = 30": 'epochs = "many"'}, "train.epochs"),
    ("unknown optimizer", {'name = "adam"': 'name = "adamant"'}, "unknown optimizer 'adamant'"),
    ("unknown loss", {"[train]": '[loss]\nname = "hingee"\n[train]'}, "unknown loss 'hingee'"),
    ("loss for the wrong task", {"[train]": '[loss]\nname = "mse"\n[train]'}, "regression"),
]


def assert_one_line_error(capsys, needle: str) -> None:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert needle in lines[0]


@pytest.mark.parametrize("label,replace,needle", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, label, replace, needle):
    cfg = tmp_path / "missing.toml" if replace is None else write_config(tmp_path, **replace)
    assert main(["train", str(cfg), "-o", str(tmp_path / "run")]) == 2
    assert_one_line_error(capsys, needle)
    assert not (tmp_path / "run").exists()


def test_bad_data_content(tmp_path, capsys):
    nan = tmp_path / "nan.csv"
    pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0] * 10, "y": [0, 1] * 20}).to_csv(nan, index=False)
    one = tmp_path / "one.csv"
    pd.DataFrame({"a": np.arange(40.0), "y": ["x"] * 40}).to_csv(one, index=False)
    nan_refused = tmp_path / "nan_refused.csv"  # data.impute = "none": gaps refused
    pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0] * 10, "y": [0, 1] * 20}).to_csv(
        nan_refused, index=False
    )
    cases = [
        (nan_refused, 'y"\nimpute = "none', "missing values"),
        (one, "y", "only one class"),
        (one, "nope", "target column 'nope' not found"),
    ]
    for path, target, needle in cases:
        cfg = write_config(tmp_path, source=str(path), target=f'target = "{target}"')
        assert main(["train", str(cfg), "-o", str(tmp_path / "run")]) == 2
        assert_one_line_error(capsys, needle)
        assert not (tmp_path / "run").exists()


def test_a_real_process_exits_2_without_traceback(tmp_path):
    cfg = write_config(tmp_path, **{"iris": "nosuchdata"})
    proc = run_cli("train", str(cfg), "-o", str(tmp_path / "run"), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: unknown dataset 'nosuchdata': not a file and not one of iris, wine, "
        "breast_cancer, digits, diabetes"
    ]


def test_predict_errors(tmp_path, capsys):
    assert main(["predict", str(tmp_path / "nomodel"), "iris"]) == 2
    assert_one_line_error(capsys, "model directory not found")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "model.json").write_text("{not json")
    (tmp_path / "junk" / "model.safetensors").write_bytes(b"garbage")
    assert main(["predict", str(tmp_path / "junk"), "iris"]) == 2
    assert_one_line_error(capsys, "cannot read model files")
    with pytest.raises(SystemExit) as e:
        main(["train", "--no-such-flag"])
    assert e.value.code == 2
    assert_one_line_error(capsys, "")


def test_failed_run_keeps_previous_results(tmp_path, capsys):
    cfg = write_config(tmp_path)
    out = tmp_path / "run"
    assert main(["train", str(cfg), "-o", str(out), "-q"]) == 0
    before = (out / "summary.json").read_text()
    bad = write_config(tmp_path, **{"0.01, 0.03": "-1"})
    assert main(["train", str(bad), "-o", str(out), "-q", "--overwrite"]) == 2
    assert (out / "summary.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".run")] == []
