"""Full-batch searches (gd, L-BFGS): a member that converged (its method's stopping rule
met) is a successful trial: stored ``COMPLETE`` with its values, so ``study.best_trial``,
Optuna's ``trials_dataframe``, the Pareto front and the leaderboard count it; a member
that diverged stays ``FAIL``; the ``status`` attribute keeps why each one stopped."""

import json
import math

import optuna
import pandas as pd
import pytest
from optuna.trial import TrialState

from caviar.api import load_data_for
from caviar.cli.main import main
from caviar.results.outputs import leaderboard
from caviar.results.study import study_of_trials
from caviar.trial import COMPLETE_STATES, Trial, optuna_state
from caviar.tuning import tune
from caviar.tuning.pareto import pareto_trials, rank_by_front
from caviar.tuning.rebuild import rebuild
from caviar.tuning.space import parse_space
from caviar.tuning.storage_records import distribution, frozen_trial, trial_dict

DIABETES_GD = {
    "data": {"source": "diabetes", "seed": 0},
    "model": {"hidden": [4]},
    # plain gradient descent stops once the loss falls by less than tau in a step
    "optimizer": {"name": "gd", "tolerance": 1e-2},
    "train": {"epochs": 40, "patience": 1000},
    "search": {
        "strategy": "random",
        "trials": 3,
        "seed": 0,
        # two rates that converge, one whose first step overflows the loss (diverged)
        "enqueue": [{"optimizer.lr": 0.3}, {"optimizer.lr": 0.1}, {"optimizer.lr": 1e20}],
        "space": {"optimizer.lr": {"log_uniform": [1e-3, 1e21]}},
    },
}

IRIS_LBFGS_PARETO = {
    "data": {"source": "iris", "seed": 0},
    "model": {"hidden": [4]},
    "optimizer": {"name": "lbfgs", "tolerance": 1e-3},
    "train": {"epochs": 30, "patience": 1000},
    "search": {
        "strategy": "random",
        "trials": 4,
        "seed": 0,
        "objectives": ["accuracy", "n_params"],
        "space": {
            "model.hidden": {"choice": [[1], [2], [4], [8]]},
            "optimizer.lr": {"log_uniform": [0.1, 1.0]},
        },
    },
}


def _load(result):
    return optuna.load_study(study_name=result.plan.name, storage=result.storage_url)


@pytest.fixture(scope="module")
def gd_search(tmp_path_factory):
    out = tmp_path_factory.mktemp("full_batch") / "gd"
    return tune(DIABETES_GD, out=out, verbose=0, outputs=False)


def test_converged_members_are_complete_trials_and_a_diverged_one_fails(gd_search):
    result = gd_search
    by_number = {t.number: t for t in result.trials}
    assert [by_number[i].state for i in range(3)] == ["converged", "converged", "diverged"]
    assert all(by_number[i].epochs_run < 40 for i in (0, 1))  # stopped by the rule, early
    study = _load(result)
    stored = {t.user_attrs["index"]: t for t in study.trials}
    for i in (0, 1):
        t = stored[i]
        assert t.state == TrialState.COMPLETE and t.user_attrs["status"] == "converged"
        assert t.value == by_number[i].value and math.isfinite(t.value)
        assert len(t.intermediate_values) == by_number[i].epochs_run
    assert stored[2].state == TrialState.FAIL and stored[2].values is None
    assert stored[2].user_attrs["status"] == "diverged"
    # Optuna's own tools see the converged trials
    best = study.best_trial
    assert best.user_attrs["status"] == "converged"
    assert best.value == max(by_number[i].value for i in (0, 1))
    frame = study.trials_dataframe()
    states = dict(zip(frame["user_attrs_index"], frame["state"], strict=True))
    assert states == {0: "COMPLETE", 1: "COMPLETE", 2: "FAIL"}
    statuses = dict(zip(frame["user_attrs_index"], frame["user_attrs_status"], strict=True))
    assert statuses == {0: "converged", 1: "converged", 2: "diverged"}


def test_the_search_result_the_leaderboard_and_the_counts_agree(gd_search):
    result = gd_search
    assert (
        result.best.state == "converged"
        and result.best.number == _load(result).best_trial.user_attrs["index"]
    )
    assert result.counts["converged"] == 2 and result.counts["diverged"] == 1
    assert sum(result.counts.values()) == 3
    board = leaderboard(result)
    assert board["status"].tolist() == ["converged", "converged", "diverged"]
    assert board["trial"].iloc[0] == result.best.number
    ours = result.trials_dataframe().set_index("number")["state"].to_dict()
    assert ours == {0: "converged", 1: "converged", 2: "diverged"}
    # a train run's in-memory study maps the same states as the stored one
    memory = study_of_trials(list(result.trials))
    assert {t.user_attrs["index"]: t.state for t in memory.trials} == {
        t.user_attrs["index"]: t.state for t in _load(result).trials
    }


def test_a_converged_trial_is_rebuilt_alone_exactly(gd_search):
    """The core invariant through the stored record: trained again alone for the
    iterations it ran, a converged member converges at the same iteration with the same
    validation curve, bit for bit (what the final model and ``model_of`` rely on)."""
    result = gd_search
    by_index = {t.number: t for t in result.trials}
    data = load_data_for([result.plan.base_config()])
    for number in (0, 1):
        (rec,), how = rebuild([by_index[number]], by_index, result.plan.base,
                              result.plan.space, data)  # fmt: skip
        stored = by_index[number]
        assert how == {number: "alone"} and rec.member.status == "converged"
        assert rec.member.epochs_run == stored.epochs_run
        assert rec.member.val_score == stored.value
        assert rec.member.history["val_score"] == stored.history["val_score"]


CLI_TOML = """
[data]
source = "diabetes"
seed = 0
[model]
hidden = [4]
[optimizer]
name = "gd"
tolerance = 1e-2
[train]
epochs = 40
patience = 1000
[search]
strategy = "random"
trials = 3
seed = 0
enqueue = [{"optimizer.lr" = 0.3}, {"optimizer.lr" = 0.1}, {"optimizer.lr" = 1e20}]
[search.space]
"optimizer.lr" = { log_uniform = [1e-3, 1e21] }
"""


def test_the_cli_summary_report_and_leaderboard_count_converged_trials(tmp_path, capsys):
    cfg = tmp_path / "gd.toml"
    cfg.write_text(CLI_TOML)
    out = tmp_path / "run"
    assert main(["tune", str(cfg), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "3 trials: 0 complete, 0 early-stopped, 2 converged, 0 pruned, 1 diverged" in text
    board = pd.read_csv(out / "leaderboard.csv")
    assert board["status"].tolist() == ["converged", "converged", "diverged"]
    assert json.loads((out / "summary.json").read_text())["counts"]["converged"] == 2
    report = (out / "report.html").read_text()
    assert "2 converged, 1 diverged" in report and 'tr class="converged"' in report
    study = optuna.load_study(study_name="gd", storage=f"sqlite:///{out / 'study.db'}")
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE", "FAIL"]


def test_a_converged_lbfgs_search_has_its_pareto_front(tmp_path):
    result = tune(IRIS_LBFGS_PARETO, out=tmp_path / "run", verbose=0, outputs=False)
    assert {t.state for t in result.trials} == {"converged"}  # L-BFGS meets tau early
    study = _load(result)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    front = {t.user_attrs["index"] for t in study.best_trials}
    assert front and front == {t.number for t in result.pareto_front()}
    assert all(t.get("front") == 1 for t in result.pareto_front())
    assert result.best.state == "converged" and result.best.number in front
    board = leaderboard(result)
    assert set(board["front"]) >= {1} and (board["front"] > 0).all()


def _trial(number, acc, size, state):
    return Trial(
        number=number, params={}, value=acc, state=state, val_loss=0.5,
        user_attrs={"objectives": {"accuracy": acc, "n_params": size}},
    )  # fmt: skip


def test_every_state_maps_to_one_optuna_state_in_every_writer():
    assert COMPLETE_STATES == ("complete", "early_stopped", "converged")
    expected = {
        "complete": "COMPLETE",
        "early_stopped": "COMPLETE",
        "converged": "COMPLETE",
        "pruned": "PRUNED",
        "diverged": "FAIL",
        "failed": "FAIL",
    }
    assert {s: optuna_state(s) for s in expected} == expected
    base = {k: v for k, v in DIABETES_GD.items() if k != "search"}
    space = parse_space({"optimizer.lr": {"log_uniform": [1e-3, 1.0]}}, base)
    dists = {d.path: distribution(d) for d in space.dimensions}
    trials = [
        Trial(number=i, params={"optimizer.lr": 0.01}, value=0.5 + i / 10, state=s)
        for i, s in enumerate(expected)
    ]
    stored = [frozen_trial(t, space, dists) for t in trials]
    memory = study_of_trials(trials).trials
    for t, a, b in zip(trials, stored, memory, strict=True):
        assert a.state.name == b.state.name == expected[t.state]
        assert trial_dict(a)["status"] == t.state  # why it stopped, kept
    # a converged trial without a finite value is still no success
    nan = Trial(number=9, params={"optimizer.lr": 0.01}, value=math.nan, state="converged")
    assert frozen_trial(nan, space, dists).state == TrialState.FAIL


def test_converged_trials_stand_on_the_front():
    names, directions = ["accuracy", "n_params"], ["maximize", "minimize"]
    trials = [
        _trial(0, 0.80, 10, "complete"),
        _trial(1, 0.95, 1000, "converged"),
        _trial(2, 0.90, 50, "early_stopped"),
        _trial(3, 0.99, 5, "diverged"),  # no success: on no front
    ]
    assert [t.number for t in pareto_trials(trials, names, directions)] == [1, 2, 0]
    assert [t.get("front") for t in rank_by_front(trials, names, directions)] == [1, 1, 1, 0]
