"""`caviar train` with the built-in recurrent model (``model.kind = "rnn"``): it learns a
sequence task a logistic regression cannot, saves a model that loads from its JSON alone
and predicts from another directory; its knobs are searchable and checked."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from caviar.cli import main
from caviar.data import prepare_arrays
from caviar.data.synthetic import make_signals

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sequence_rnn.toml"


@pytest.fixture(scope="module")
def signals(tmp_path_factory):
    X, y = make_signals(900, 24, n_classes=4, seed=0)
    path = tmp_path_factory.mktemp("data") / "signals.npz"
    np.savez(path, X=X, y=y)
    return path, X, y


def config(tmp_path: Path, source: Path, model: str, epochs: int = 12) -> Path:
    path = tmp_path / "cfg.toml"
    path.write_text(
        f'[data]\nsource = "{source}"\n[model]\nkind = "rnn"\n{model}\n'
        '[optimizer]\nname = "adam"\nlr = [0.01]\n'
        f"[train]\nepochs = {epochs}\nbatch_size = 32\npatience = {epochs}\n"
    )
    return path


def test_rnn_learns_what_a_logistic_regression_cannot(tmp_path, capsys, signals):
    source, X, y = signals
    cfg = config(tmp_path, source, 'cell = "gru"\nhidden_size = 24\nhidden = []')
    out = tmp_path / "run"
    assert main(["train", str(cfg), "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    data = prepare_arrays(X, y, seed=0)  # the CLI's split (data.seed 0)
    baseline = LogisticRegression(max_iter=2000).fit(data.X_train, data.y_train)
    logistic = baseline.score(data.X_val, data.y_val)
    assert logistic < 0.45  # near chance (0.25): the shape's place and sign vary
    assert summary["best"]["val_score"] > logistic + 0.25
    network = json.loads((out / "model" / "model.json").read_text())["network"]
    assert network["factory"] == "caviar.nn.sequence:build_rnn"
    assert "factory_dir" not in network  # caviar's own factory: nothing to find
    assert network["model_configs"][0]["cell"] == "gru"

    # predict in a fresh process started in another directory: the JSON alone rebuilds it
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    preds = elsewhere / "p.csv"
    done = subprocess.run(
        [sys.executable, "-m", "caviar", "predict", str(out / "model"), str(source), "-o",
         "p.csv"],
        cwd=elsewhere, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    p = pd.read_csv(preds)
    assert len(p) == len(y)
    assert (p["prediction"].to_numpy() == y).mean() > logistic + 0.25


@pytest.mark.parametrize(
    "model",
    ['cell = "lstm"\nnum_layers = 2\nbidirectional = true\nreadout = "mean"\ndropout = 0.2',
     'cell = "rnn"\nhidden = [8]\nbatch_norm = true'],
)  # fmt: skip
def test_every_cell_and_knob_trains_and_round_trips(tmp_path, capsys, signals, model):
    source, _, y = signals
    cfg = config(tmp_path, source, model + "\nhidden_size = 8", epochs=2)
    out = tmp_path / "run"
    assert main(["train", str(cfg), "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    assert main(["predict", str(out / "model"), str(source)]) == 0
    p = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert len(p) == len(y) and set(p["prediction"]) <= {0, 1, 2, 3}


BAD = [
    ('cell = "transformer"', "model.cell"),
    ("hidden_size = 0", "model.hidden_size"),
    ("num_layers = 0", "model.num_layers"),
    ('readout = "max"', "model.readout"),
    ("dropout = 0.3", "no caviar.nn.Dropout() layer"),  # one layer, no head: nothing to drop
]


@pytest.mark.parametrize("model,needle", BAD, ids=[b[0] for b in BAD])
def test_bad_rnn_settings_are_one_line_errors(tmp_path, capsys, signals, model, needle):
    cfg = config(tmp_path, signals[0], model + "\nhidden = []")
    out = tmp_path / "run"
    assert main(["train", str(cfg), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert not out.exists()


def test_images_are_refused_by_the_rnn_model(tmp_path, capsys):
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(
        '[data]\nsource = "digits"\nshape = [1, 8, 8]\n[model]\nkind = "rnn"\n[train]\nepochs = 1\n'
    )
    assert main(["train", str(cfg), "-o", str(tmp_path / "run")]) == 2
    assert "shape (C, L)" in capsys.readouterr().err


def test_rnn_knobs_are_searchable(tmp_path, capsys, signals):
    cfg = tmp_path / "tune.toml"
    cfg.write_text(
        f'[data]\nsource = "{signals[0]}"\n[model]\nkind = "rnn"\nhidden_size = 8\n'
        'hidden = [8]\n[optimizer]\nname = "adam"\n[train]\nepochs = 2\nbatch_size = 64\n'
        '[search]\nstrategy = "random"\ntrials = 4\nseed = 0\n[search.space]\n'
        '"optimizer.lr" = { log_uniform = [1e-3, 1e-1] }\n'
        '"model.cell" = { choice = ["gru", "lstm"] }\n'
        '"model.dropout" = { uniform = [0.0, 0.4] }\n'
    )
    out = tmp_path / "run"
    assert main(["tune", str(cfg), "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_trials"] == 4


def test_the_example_config_is_valid_and_uses_the_rnn_model():
    from caviar.config import expand_configs

    raw = tomllib.loads(EXAMPLE.read_text())
    configs = expand_configs(raw)
    assert len(configs) == 2 and all(c.model.kind == "rnn" for c in configs)
    assert configs[0].model.cell == "gru"
