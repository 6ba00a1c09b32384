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


def test_callbacks_see_a_row_per_fold_and_stop_a_configuration_with_its_folds():
    from caviar.training.callbacks import Callback

    class StopSecond(Callback):
        def __init__(self):
            self.seen, self.ends = [], []

        def on_epoch_end(self, epoch, logs):
            self.seen.append((epoch, list(logs.members), logs.alive.copy()))
            if epoch == 1:
                logs.stop([1])  # configuration 1: all four of its folds

        def on_population_end(self, logs):
            self.ends.append((list(logs.members), list(logs.status)))

    cb = StopSecond()
    grid = {
        "data": {"source": "iris"},
        "model": {"hidden": [8]},
        "optimizer": {"name": "adam", "lr": [0.01, 0.03]},
        "train": {"epochs": 5, "batch_size": 16, "cv": 4},
    }
    result = caviar.train(grid, callbacks=[cb])
    for epoch, members, alive in cb.seen:
        assert members == [0, 0, 0, 0, 1, 1, 1, 1]  # configuration-major, 4 folds each
        assert alive.tolist() == [True] * 4 + [epoch <= 1] * 4
    assert len(cb.seen) == 5
    by_index = {m.index: m for m in result.members}
    assert by_index[1].status == "pruned" and by_index[1].epochs_run == 2
    assert by_index[0].epochs_run == 5 and len(by_index[0].cv_scores) == 4
    assert cb.ends == [([0, 1], [by_index[0].status, "pruned"])]


def test_a_live_cross_validated_train_writes_fold_rows_and_refuses_caviar_set(tmp_path):
    """Panda mode under train.cv: the progress log has a row per fold labelled with its
    configuration; a ``caviar set`` command is rejected (logged), the run unchanged."""
    import json

    from caviar.training.live import append_line

    grid = {
        "data": {"source": "iris"},
        "model": {"hidden": [8]},
        "optimizer": {"name": "adam", "lr": [0.01, 0.03]},
        "train": {"epochs": 3, "batch_size": 16, "cv": 4},
    }
    live = tmp_path / "live"
    live.mkdir()
    append_line(live / "control.jsonl", {"member": 1, "set": {"optimizer.lr": 0.5}})
    plain = caviar.train(grid)
    watched = caviar.train(grid, live_dir=live)
    lines = [json.loads(x) for x in (live / "progress.jsonl").read_text().splitlines()]
    epochs = [x for x in lines if "epoch" in x]
    assert len(epochs) == 3 and all(x["members"] == [0] * 4 + [1] * 4 for x in epochs)
    rejected = [x for x in lines if "rejected" in x]
    assert len(rejected) == 1 and "member 1 is cross-validated (cv = 4)" in rejected[0]["reason"]
    for a, b in zip(plain.members, watched.members, strict=True):
        assert a.val_score == b.val_score and a.cv_scores == b.cv_scores and b.changes == []
