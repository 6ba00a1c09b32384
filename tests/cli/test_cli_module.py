"""`caviar train`/`predict` with the built-in CNN and with a user's module factory, and
one-line errors (exit 2, nothing written) for every bad factory or shape."""

import json

import numpy as np
import pandas as pd
import pytest

from caviar.cli import main

NETS = """
import torch
from torch import nn

def good(cfg):
    c, length = cfg["input_shape"]
    return nn.Sequential(nn.Conv1d(c, 4, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * length, cfg["n_outputs"]))

def raises(cfg):
    raise RuntimeError("no GPU here")

def not_a_module(cfg):
    return 42

def wrong_shape(cfg):
    return nn.Conv1d(cfg["input_shape"][0], 3, 3)  # (B, 3, L - 2), not (B, K)

def wrong_width(cfg):
    return nn.Sequential(nn.Flatten(), nn.Linear(20, 3))

class NoParams(nn.Module):
    def forward(self, x):
        return x.flatten(1)[:, :3]

def no_params(cfg):
    return NoParams()

class Noisy(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.lin = nn.Linear(n, 3)
    def forward(self, x):
        return self.lin(x.flatten(1) + torch.randn_like(x.flatten(1)))

def noisy(cfg):
    return Noisy(int(torch.tensor(cfg["input_shape"]).prod()))
"""

CONFIG = """
[data]
source = "{source}"
{data}
[model]
{model}
[optimizer]
name = "adam"
lr = [0.003, 0.01]
[train]
epochs = 3
batch_size = 32
"""


@pytest.fixture
def signals(tmp_path, monkeypatch):
    (tmp_path / "mynets.py").write_text(NETS)
    monkeypatch.syspath_prepend(str(tmp_path))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 2, 10))
    y = (X[:, 0].sum(axis=1) > X[:, 1].sum(axis=1)).astype(int) + 2 * (X[:, 0, 0] > 0.5)
    path = tmp_path / "signals.npz"
    np.savez(path, X=X, y=y)
    return path


def write(tmp_path, source, model, data=""):
    path = tmp_path / "cfg.toml"
    path.write_text(CONFIG.format(source=source, model=model, data=data))
    return path


def test_cnn_on_digits_as_images_round_trip(tmp_path, capsys):
    cfg = write(
        tmp_path, "digits", 'kind = "cnn"\nchannels = [4]\nhidden = [16]', "shape = [1, 8, 8]"
    )
    out = tmp_path / "run"
    assert main(["train", str(cfg), "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["best"]["val_score"] > 0.5
    desc = json.loads((out / "model" / "model.json").read_text())
    assert desc["network"]["factory"] == "caviar.nn.cnn:build_cnn"
    assert desc["network"]["input_shape"] == [1, 8, 8]
    preds = tmp_path / "p.csv"
    assert main(["predict", str(out / "model"), "digits", "-o", str(preds)]) == 0
    p = pd.read_csv(preds)
    assert len(p) == 1797 and (p["prediction"].between(0, 9)).all()


def test_user_factory_on_an_npz_of_signals(tmp_path, capsys, signals):
    cfg = write(tmp_path, signals, 'kind = "module"\nfactory = "mynets:good"')
    out = tmp_path / "run"
    assert main(["train", str(cfg), "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    assert main(["predict", str(out / "model"), str(signals)]) == 0
    p = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert len(p) == 150 and set(p["prediction"]) <= {0, 1, 2, 3}


BAD = [
    ("raises", 'kind = "module"\nfactory = "mynets:raises"', "", "raised RuntimeError: no GPU"),
    (
        "not a module",
        'kind = "module"\nfactory = "mynets:not_a_module"',
        "",
        "not a torch.nn.Module",
    ),
    (
        "wrong output shape",
        'kind = "module"\nfactory = "mynets:wrong_shape"',
        "",
        "must map a batch",
    ),
    (
        "wrong output width",
        'kind = "module"\nfactory = "mynets:wrong_width"',
        "",
        "returns 3 outputs per example; this task and loss need 4",
    ),
    ("no parameters", 'kind = "module"\nfactory = "mynets:no_params"', "", "no parameters"),
    (
        "not importable",
        'kind = "module"\nfactory = "nosuch.module:net"',
        "",
        "cannot import the module factory 'nosuch.module:net'",
    ),
    ("no colon", 'kind = "module"\nfactory = "mynets.good"', "", "must look like"),
    ("no factory", 'kind = "module"', "", "needs model.factory"),
    ("global randomness", 'kind = "module"\nfactory = "mynets:noisy"', "", "random"),
    ("shape mismatch", 'kind = "cnn"', "shape = [3, 7]", "data.shape [3, 7] holds 21 values"),
    ("extra key on an mlp", "width = 8", "", "unknown model field 'width'"),
    (
        "dropout without a layer",
        'kind = "module"\nfactory = "mynets:good"\ndropout = 0.3',
        "",
        "no caviar.nn.Dropout() layer",
    ),
]


@pytest.mark.parametrize("label,model,data,needle", BAD, ids=[b[0] for b in BAD])
def test_bad_factories_and_shapes_are_one_line_errors(
    tmp_path, capsys, signals, label, model, data, needle
):
    cfg = write(tmp_path, signals, model, data)
    out = tmp_path / "run"
    assert main(["train", str(cfg), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    assert needle in err[0], err[0]
    assert not out.exists()


TUNE = """
[data]
source = "iris"
[model]
kind = "cnn"
channels = [4]
hidden = [8]
[optimizer]
name = "adam"
[train]
epochs = 4
batch_size = 16
[search]
strategy = "random"
trials = 6
seed = 0
[search.halving]
min_epochs = 1
eta = 2
[search.space]
"optimizer.lr" = { log_uniform = [1e-3, 1e-1] }
"model.channels" = { choice = [[4], [6]] }
"model.dropout" = { uniform = [0.0, 0.4] }
"""


def test_tune_report_and_diagnose_a_cnn(tmp_path, capsys):
    cfg = tmp_path / "tune.toml"
    cfg.write_text(TUNE)
    out = tmp_path / "run"
    assert main(["tune", str(cfg), "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n_trials"] == 6 and (out / "report.html").is_file()
    assert (out / "report.html").stat().st_size > 10_000
    assert main(["report", str(out)]) == 0
    capsys.readouterr()
    diag, plain = tmp_path / "diag", tmp_path / "plain.toml"
    plain.write_text(TUNE.split("[search]")[0])
    args = ["diagnose", str(plain), "-o", str(diag), "--epochs", "2", "--lr-steps", "10"]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["reports"][0]
    assert report["gradient_check"]["ok"], report["gradient_check"]
