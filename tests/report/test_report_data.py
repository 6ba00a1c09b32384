"""caviar.report.data: tune, train and diagnose runs load into frames that match the files."""

import hashlib
import json
import math

import numpy as np
import optuna
import pandas as pd
import pytest

from caviar.errors import CaviarError
from caviar.report.data import load_diagnose, load_run


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_tune_run_rows_match_the_study(tune_run):
    before = _digest(tune_run / "study.db")
    run = load_run(tune_run)
    assert run.kind == "tune"
    study = optuna.load_study(study_name=run.study_name, storage=f"sqlite:///{tune_run}/study.db")
    trials = {t.number: t for t in study.get_trials()}
    assert sorted(run.trials["number"]) == sorted(trials)
    for _, row in run.trials.iterrows():
        t = trials[int(row["number"])]
        assert row["id"] == t.user_attrs["index"]
        assert row["status"] == t.user_attrs["status"]
        assert (
            math.isclose(row["value"], t.value) if t.value is not None else math.isnan(row["value"])
        )
        assert row["optimizer.lr"] == t.params["optimizer.lr"]
        assert row["model.hidden"] == json.dumps(json.loads(t.params["model.hidden"]))
    # the same ranking as the tuner's leaderboard.csv
    board = pd.read_csv(tune_run / "leaderboard.csv")
    assert run.trials["id"].tolist() == board["trial"].tolist()
    assert run.trials["rank"].tolist() == list(range(1, len(board) + 1))
    # read-only: the study file is unchanged
    assert _digest(tune_run / "study.db") == before


def test_tune_run_scales_curves_and_rounds(tune_run):
    run = load_run(tune_run)
    assert run.scales == {
        "optimizer.lr": "log",
        "optimizer.beta1": "one_minus_log",
        "model.hidden": "categorical",
        "train.patience": "linear",
    }
    assert run.params == list(run.scales)
    lengths = run.curves.groupby("id").size()
    for _, row in run.trials.iterrows():
        assert lengths[row["id"]] == row["epochs_run"]
    assert set(run.trials["status"]) == {"complete", "pruned"}
    assert sorted(run.trials["round"].unique()) == [0, 1]
    assert run.best_id == int(run.trials.iloc[0]["id"])
    assert run.summary["baseline"]["name"] == "majority class"
    assert run.score_name == "accuracy"


def test_train_run_rows_and_curves(train_run):
    run = load_run(train_run)
    board = pd.read_csv(train_run / "leaderboard.csv")
    history = pd.read_csv(train_run / "history.csv")
    assert run.kind == "train"
    assert run.trials["id"].tolist() == board["member"].tolist()
    assert run.params == ["optimizer.lr"]
    assert run.scales == {"optimizer.lr": "log"}  # 0.001 .. 30 spans >= 100x
    assert len(run.curves) == len(history)
    np.testing.assert_allclose(run.curves["val_loss"], history["val_loss"])
    assert "diverged" in set(run.trials["status"])


def test_diagnose_dir_alone_and_beside_a_run(diagnose_dir, train_run):
    run = load_run(diagnose_dir)
    assert run.kind == "diagnose" and run.trials.empty
    assert len(run.diagnose) == 1 and "gradient_norms" in run.diagnose[0]
    assert len(load_run(train_run, diagnose_dir=diagnose_dir).diagnose) == 1


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda d: d / "missing", "no such directory"),
        (lambda d: d, "not a caviar run directory"),
    ],
)
def test_bad_directories(tmp_path, make, match):
    with pytest.raises(CaviarError, match=match):
        load_run(make(tmp_path))


def test_unreadable_study_is_one_line_and_untouched(tmp_path):
    (tmp_path / "study.db").write_bytes(b"this is not a database" * 10)
    before = _digest(tmp_path / "study.db")
    with pytest.raises(CaviarError, match="cannot open study") as e:
        load_run(tmp_path)
    assert "\n" not in str(e.value)
    assert _digest(tmp_path / "study.db") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.db"]


def test_several_studies_need_a_name(tmp_path):
    url = f"sqlite:///{tmp_path}/study.db"
    for name in ("a", "b"):
        s = optuna.create_study(study_name=name, storage=url, direction="maximize")
        s.enqueue_trial({})
    with pytest.raises(CaviarError, match=r"2 studies \(a, b\); pass --study"):
        load_run(tmp_path)
    with pytest.raises(CaviarError, match="no study named 'c'"):
        load_run(tmp_path, study_name="c")
    assert load_run(tmp_path, study_name="b").trials.empty


def test_bad_diagnose_report(tmp_path):
    (tmp_path / "report.json").write_text("{not json")
    with pytest.raises(CaviarError, match="cannot read JSON"):
        load_diagnose(tmp_path)
    (tmp_path / "report.json").write_text('{"x": 1}')
    with pytest.raises(CaviarError, match="reports"):
        load_diagnose(tmp_path)
