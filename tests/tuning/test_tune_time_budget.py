"""search.time_budget inside a population: members stop between epochs at the deadline."""

import json
import math
import time

import numpy as np
import optuna
import pandas as pd
import pytest
import torch
from tune_helpers import iris_config, write_toml

from caviar.api import load_data_for
from caviar.cli.main import main
from caviar.config import expand_configs, validate_config
from caviar.data import prepare_data
from caviar.tuning.executor import run_population
from caviar.tuning.final_model import records_for as _records_for
from caviar.tuning.halving import SuccessiveHalving
from caviar.tuning.runner import make_plan, tune
from caviar.tuning.time_budget import TimeBudget


@pytest.fixture(scope="module")
def iris():
    return prepare_data("iris", seed=1)


def configs(epochs):
    return expand_configs(
        {
            "data": {"source": "iris"},
            "model": {"hidden": [8]},
            "optimizer": {"name": "adam", "lr": [1e-3, 1e-2, 3e-2, 1e-1]},
            "train": {"epochs": epochs, "batch_size": 16, "patience": None, "dtype": "float64"},
        }
    )


def test_a_passed_deadline_stops_every_member_after_its_epoch(iris):
    """Past the deadline the live members finish with their best weights so far: exactly
    the members of a 2-epoch run, with status complete and stopped_by time_budget."""
    past = time.time() - 1.0
    # halving (eta 3) at epoch 1 prunes 2 of 4 first; the budget then stops the 2 others
    stopped = run_population(configs(9), iris, callbacks=[SuccessiveHalving(1, 3), _After(2)])
    short = run_population(configs(2), iris, callbacks=[SuccessiveHalving(1, 3)])
    for a, b in zip(stopped, short, strict=True):
        assert a.member.epochs_run == b.member.epochs_run
        if a.member.status == "pruned":
            assert a.stopped_by is None and a.member.epochs_run == 1
        else:
            assert (a.member.status, a.stopped_by) == ("complete", "time_budget")
            assert a.member.epochs_run == 2
        assert a.member.best_epoch == b.member.best_epoch
        np.testing.assert_array_equal(a.member.history["val_loss"], b.member.history["val_loss"])
        for k in a.weights:
            torch.testing.assert_close(a.weights[k], b.weights[k], rtol=0, atol=0)
    assert sum(r.stopped_by == "time_budget" for r in stopped) == 2
    # a deadline already passed: every member runs its first epoch, then stops
    recs = run_population(configs(9), iris, callbacks=[TimeBudget(past)])
    assert [r.member.epochs_run for r in recs] == [1] * 4
    assert {r.stopped_by for r in recs} == {"time_budget"}


class _After:
    """A TimeBudget whose deadline passes after ``n`` epochs (no dependence on timing)."""

    def __init__(self, n):
        self.n, self.inner = n, TimeBudget(time.time() + 3600)

    def __call__(self, trainer):
        if trainer.epoch + 1 >= self.n:
            self.inner.deadline = time.time() - 1.0
        self.inner(trainer)


def budget_config(**search):
    cfg = iris_config(trials=None, batch=4, time_budget=0.3, **search)
    cfg["search"].pop("trials")
    cfg["search"]["space"].pop("model.hidden")  # one structure: one population of 4
    # many seconds: far beyond the budget
    cfg["train"].update(epochs=5000, patience=None, dtype="float64")
    return cfg


def test_the_budget_stops_a_long_population_and_the_search(tmp_path):
    result = tune(budget_config(), out=tmp_path / "run")
    assert len(result.trials) == 4  # the first population only; no other started
    for t in result.trials:
        assert t["status"] == "complete"
        assert t["stopped_by"] == "time_budget"
        assert 1 <= t["epochs_run"] < 5000
    assert result.counts["complete"] == 4
    assert math.isfinite(result.val_score) and math.isfinite(result.test_score)
    study = optuna.load_study(study_name=result.plan.name, storage=result.storage_url)
    states = {t.state for t in study.get_trials()}
    assert states == {optuna.trial.TrialState.COMPLETE}
    assert {t.user_attrs["stopped_by"] for t in study.get_trials()} == {"time_budget"}

    # weights not in memory (e.g. after --resume): a stopped trial retrains its epochs_run
    # epochs and gets the same weights; trials cut at different epochs train apart
    best = result.trials[0]
    other = dict(result.trials[1], epochs_run=best["epochs_run"] + 2)  # as if cut later
    plan = make_plan(budget_config())
    data = load_data_for([validate_config(plan.base)])
    again, how = _records_for([best, other], {}, plan, plan.space, data)
    assert how == {best["index"]: "alone", other["index"]: "alone"}
    assert [r.member.epochs_run for r in again] == [best["epochs_run"], other["epochs_run"]]
    for k, v in again[0].weights.items():
        torch.testing.assert_close(v, result.model.member_tensors[0][k], rtol=1e-9, atol=1e-12)


def test_cli_time_budget_exits_zero_with_a_model(tmp_path, capsys):
    cfg = budget_config()
    cfg["search"].pop("time_budget")
    cfg["train"]["patience"] = 10**6  # TOML has no null
    path = write_toml(tmp_path / "t.toml", cfg)
    out = tmp_path / "run"
    code = main(["tune", str(path), "-o", str(out), "--time-budget", "0.3", "--json", "-q"])
    assert code == 0, capsys.readouterr().err
    info = json.loads((out / "summary.json").read_text())
    assert info["n_trials"] == 4
    assert (out / "model" / "model.json").exists()
    board = pd.read_csv(out / "leaderboard.csv")
    assert len(board) == 4 and set(board["stopped_by"]) == {"time_budget"}
