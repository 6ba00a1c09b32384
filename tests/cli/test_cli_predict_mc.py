"""``caviar predict --mc-samples T`` writes the MC-dropout mean and standard deviation."""

import pandas as pd
import pytest

from caviar.api import train
from caviar.cli.main import main


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    run = train(
        {
            "data": {"source": "iris"},
            "model": {"hidden": [16], "dropout": 0.3, "batch_norm": True},
            "train": {"epochs": 5},
        }
    )
    d = tmp_path_factory.mktemp("m") / "model"
    run.best_model.save(d)
    return d


def test_mc_samples_writes_mean_and_std_columns(model_dir, tmp_path):
    out = tmp_path / "p.csv"
    assert main(["predict", str(model_dir), "iris", "-o", str(out), "--mc-samples", "8"]) == 0
    frame = pd.read_csv(out)
    std_cols = [c for c in frame.columns if c.startswith("std_")]
    proba_cols = [c for c in frame.columns if c.startswith("proba_")]
    assert len(std_cols) == len(proba_cols) == 3
    assert (frame[std_cols].to_numpy() >= 0).all() and (frame[std_cols].to_numpy() > 0).any()
    assert frame[proba_cols].sum(axis=1).round(9).eq(1).all()


def test_bad_mc_samples_is_an_error_and_writes_nothing(model_dir, tmp_path, capsys):
    out = tmp_path / "p.csv"
    assert main(["predict", str(model_dir), "iris", "-o", str(out), "--mc-samples", "0"]) == 2
    assert not out.exists()
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "mc-samples" in err and "\n" not in err
