"""search.metric: on an imbalanced set ROC AUC picks another best trial than accuracy,
and the summary says so."""

import copy
import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from caviar.cli.main import main
from caviar.data import prepare_arrays
from caviar.errors import CaviarError
from caviar.tuning.runner import tune


def _imbalanced():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 6))
    logit = 1.5 * X[:, 0] - X[:, 1] + 0.8 * X[:, 2] * X[:, 3] - 3.2
    y = (rng.uniform(size=600) < 1 / (1 + np.exp(-logit))).astype(int)  # ~10% positives
    return prepare_arrays(X, y, seed=0)


CONFIG = {
    "data": {"source": "in-memory"},
    "model": {"hidden": [8]},
    "optimizer": {"name": "adam"},
    "train": {"epochs": 8, "batch_size": 32, "patience": 100},
    "search": {
        "strategy": "random",
        "trials": 12,
        "seed": 0,
        "space": {
            "optimizer.lr": {"log_uniform": [1e-4, 3e-1]},
            "model.init_scale": {"log_uniform": [0.01, 1.0]},
        },
    },
}


def _config(metric):
    cfg = copy.deepcopy(CONFIG)
    cfg["search"]["metric"] = metric
    return cfg


def test_roc_auc_picks_another_trial_than_accuracy_and_says_so(tmp_path, capsys):
    data = _imbalanced()
    assert data.y_val.mean() < 0.15
    by_acc = tune(_config("accuracy"), out=tmp_path / "acc", data=data, outputs=False)
    by_auc = tune(_config("roc_auc"), out=tmp_path / "auc", data=data)
    assert by_auc.best["index"] != by_acc.best["index"]
    # ranked by the validation ROC AUC, which is sklearn's for the final model
    scores = [t["val_score"] for t in by_auc.trials]
    assert scores == sorted(scores, reverse=True)
    proba = by_auc.model.predict_proba(data.X_val, preprocessed=True)[:, 1]
    assert by_auc.val_score == pytest.approx(skm.roc_auc_score(data.y_val, proba), abs=1e-6)
    test_proba = by_auc.model.predict_proba(data.X_test, preprocessed=True)[:, 1]
    assert by_auc.test_score == pytest.approx(skm.roc_auc_score(data.y_test, test_proba))
    s = by_auc.summary()
    assert s["score_name"] == "roc_auc"
    choice = s["metric_choice"]
    assert choice["differs"] and choice["best_index"] == by_auc.best["index"]
    assert choice["best_default_score"] < choice["default_best_score"]
    # the trial accuracy would pick reaches the accuracy search's best validation accuracy
    assert choice["default_best_score"] == pytest.approx(by_acc.val_score)
    assert s["baseline"]["val_score"] == 0.5  # a constant predictor's AUC


def test_cli_summary_line_names_the_metric(tmp_path, capsys, monkeypatch):
    data = _imbalanced()
    np.savez(
        tmp_path / "d.npz", X=np.r_[data.X_train, data.X_val], y=np.r_[data.y_train, data.y_val]
    )
    cfg = _config("log_loss")
    cfg["data"] = {"source": str(tmp_path / "d.npz")}
    cfg["search"]["trials"] = 4
    from tune_helpers import write_toml

    path = write_toml(tmp_path / "t.toml", cfg)
    assert main(["tune", str(path), "-o", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert "val neg_log_loss" in out
    assert "ranked by neg_log_loss" in out and "by accuracy" in out
    saved = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert saved["score_name"] == "neg_log_loss"
    assert saved["metric_choice"]["default_metric"] == "accuracy"
    board = pd.read_csv(tmp_path / "run" / "leaderboard.csv")
    assert len(board) == 4 and (board["val_score"] < 0).all()
    assert list(board["val_score"]) == sorted(board["val_score"], reverse=True)


def test_search_metric_and_a_different_train_metric_are_refused(tmp_path):
    cfg = _config("roc_auc")
    cfg["train"]["metric"] = "accuracy"
    with pytest.raises(CaviarError, match="search.metric 'roc_auc' and train.metric 'accuracy'"):
        tune(cfg, out=tmp_path / "x", data=_imbalanced())
    with pytest.raises(CaviarError, match="metric 'r2' is for regression"):
        tune(_config("r2"), out=tmp_path / "y", data=_imbalanced())
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
