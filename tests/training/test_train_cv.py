"""train.cv = k in caviar.train / caviar train: configurations x folds in one
population, ranked by the fold mean, refit on train+validation for the mean best
epoch count, the test split scored once on that refit model."""

import csv

import numpy as np
import pytest

import caviar
from caviar.cli import main
from caviar.config import validate_config
from caviar.data import prepare_data
from caviar.data.folds import fold_data
from caviar.errors import CaviarError


def _cfg(lr, **train):
    return validate_config(
        {
            "data": {"source": "iris"},
            "model": {"hidden": [8]},
            "optimizer": {"name": "adam", "lr": lr},
            "train": {"epochs": 20, "batch_size": 16, "patience": 4, "cv": 4, **train},
        }
    )


def test_train_cv_ranks_by_fold_mean_and_refits():
    data = prepare_data("iris", seed=0)
    run = caviar.train([_cfg(0.01), _cfg(0.05)], data=data)
    for m in run.members:
        assert len(m.cv_scores) == 4
        assert m.val_score == pytest.approx(np.mean(m.cv_scores))
        assert m.refit_epochs == m.best_epoch + 1
        assert m.summary()["cv_std"] == pytest.approx(np.std(m.cv_scores))
    assert run.members[0].val_score >= run.members[1].val_score
    assert np.isfinite(run.test_score)
    # a fold's score is what that fold trained alone scores at the shared best epoch
    best = run.members[0]
    cfg = best.config.model_copy(deep=True)
    cfg.train.cv, cfg.train.patience, cfg.train.epochs = None, None, best.epochs_run
    alone = caviar.train([cfg], data=fold_data(data, 4, 2, 0))
    assert alone.members[0].history["val_score"][best.best_epoch] == pytest.approx(
        best.cv_scores[2], abs=1e-6
    )


def test_train_cv_bad_values_are_errors():
    data = prepare_data("iris", seed=0)
    with pytest.raises(CaviarError, match="train.cv = 41 folds: the smallest class has only 40"):
        caviar.train([_cfg(0.01, cv=41)], data=data)
    bad = _cfg(0.01)
    bad.optimizer.name = "lbfgs"
    with pytest.raises(CaviarError, match="full-batch method 'lbfgs' has no folds"):
        caviar.train([bad], data=data)


def test_cli_train_cv_writes_fold_columns(tmp_path, capsys):
    path = tmp_path / "cv.toml"
    path.write_text(
        '[data]\nsource = "iris"\n[model]\nhidden = [4]\n[optimizer]\nname = "adam"\n'
        "lr = 0.05\n[train]\nepochs = 4\ncv = 3\n"
    )
    assert main(["train", str(path), "--out", str(tmp_path / "run")]) == 0
    assert "mean of the folds" in capsys.readouterr().out
    (row,) = csv.DictReader((tmp_path / "run" / "leaderboard.csv").open())
    folds = [float(row[f"fold_{f}"]) for f in (1, 2, 3)]
    assert float(row["val_score"]) == pytest.approx(np.mean(folds))
    path.write_text(path.read_text().replace("cv = 3", "cv = 1"))
    assert main(["train", str(path), "--out", str(tmp_path / "bad")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "train.cv" in err[0], err
    assert not (tmp_path / "bad").exists()
