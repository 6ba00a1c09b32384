"""Several objectives (``search.objectives``): one-line config errors, directions, the
Pareto front (against Optuna's own), the select rules, the saved multi-objective study
that ``optuna.visualization.plot_pareto_front`` draws, the leaderboard's order and the
report's figure."""

import copy
import json
import math

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.metrics import log_loss as sklearn_log_loss
from tests.tuning.test_tune_samplers import NUMERIC, space_of
from tests.tuning.tune_helpers import iris_config

from caviar.api import load_data_for
from caviar.errors import CaviarError
from caviar.report.data import load_run
from caviar.report.pareto import pareto_front, pareto_info
from caviar.trial import Trial
from caviar.tuning import tune
from caviar.tuning.objective_values import first_value, metric_value
from caviar.tuning.objectives import default_direction
from caviar.tuning.pareto import (
    front_ranks,
    knee_index,
    pareto_trials,
    rank_by_front,
    select_trial,
)
from caviar.tuning.settings import parse_settings
from caviar.tuning.strategies import make_strategy
from caviar.tuning.strategies.optuna_study import completed_trial, distributions

BASE = {"strategy": "nsga2", "trials": 8}


@pytest.mark.parametrize(
    "extra, message",
    [
        ({"objectives": ["accuracy", "nparams"]}, "unknown objective 'nparams'"),
        ({"objectives": ["accuracy", "flops", "flops"]}, "'flops' is listed twice"),
        ({"objectives": ["n_params", "accuracy"]}, "first objective 'n_params' must be"),
        ({"objectives": ["accuracy"]}, "give two or more"),
        (
            {"objectives": ["accuracy", "n_params"], "directions": ["maximize"]},
            "1 directions for 2 objectives",
        ),
        (
            {"objectives": ["accuracy", "n_params"], "directions": ["maximize", "maximize"]},
            "'n_params' is better lower",
        ),
        ({"directions": ["maximize"]}, "set search.objectives too"),
        ({"select": "knee"}, "needs several search.objectives"),
        (
            {"objectives": ["accuracy", "flops"], "metric": "roc_auc"},
            "search.metric 'roc_auc' and the first objective 'accuracy' differ",
        ),
        ({"objectives": ["accuracy", "n_params"], "strategy": "cmaes"}, "optimizes one"),
        (
            {"objectives": ["accuracy", "n_params"], "strategy": "coarse_to_fine"},
            "optimizes one",
        ),
        ({"objectives": ["accuracy", "n_params"], "pbt": {}}, "with search.pbt"),
        ({"objectives": ["accuracy", "n_params"], "cv": 3}, "with search.cv"),
        ({"objectives": ["accuracy", "n_params"], "ensemble_top_k": 2}, "ensemble_top_k"),
        ({"objectives": ["accuracy", "n_params"], "select": "middle"}, "select"),
    ],
)
def test_bad_objective_settings_are_one_line_errors(extra, message):
    with pytest.raises(CaviarError) as e:
        parse_settings({**BASE, **extra})
    assert message in str(e.value) and "\n" not in str(e.value)


def test_an_objective_metric_of_another_task_is_refused_before_anything_is_written(tmp_path):
    cfg = copy.deepcopy(DIGITS)
    cfg["search"]["objectives"] = ["accuracy", "rmse"]
    with pytest.raises(CaviarError, match="search.objectives: metric 'rmse' is for regression"):
        tune(cfg, out=tmp_path / "run", verbose=0)
    assert not (tmp_path / "run").exists()


def test_directions_default_to_each_objectives_meaning_and_may_be_explicit():
    assert [default_direction(n) for n in ("accuracy", "roc_auc", "r2")] == ["maximize"] * 3
    for name in ("log_loss", "rmse", "mae", "loss", "n_params", "flops", "predict_ms"):
        assert default_direction(name) == "minimize"
    s = parse_settings(
        {**BASE, "objectives": ["accuracy", "n_params"], "directions": ["maximize", "minimize"]}
    )
    assert s.directions == ["maximize", "minimize"] and s.select == "first_objective"
    # a lower-is-better first objective is stored in its own units (not the negated score)
    assert first_value("log_loss", -0.25) == 0.25 and first_value("accuracy", 0.9) == 0.9


def test_front_ranks_agree_with_optuna_best_trials_and_non_dominated_sorting():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 6, size=(60, 3)).astype(float)  # ties on purpose
    directions = ["maximize", "minimize", "minimize"]
    ranks = np.array(front_ranks(values.tolist(), directions))
    study = optuna.create_study(directions=directions)
    for v in values:
        study.add_trial(optuna.trial.create_trial(values=list(v), params={}, distributions={}))
    assert set(np.flatnonzero(ranks == 1)) == {t.number for t in study.best_trials}
    o = values * np.array([1, -1, -1])
    for i in range(len(o)):  # front k: dominated by a front k-1 trial, none of front >= k
        dominators = [j for j in range(len(o)) if (o[j] >= o[i]).all() and (o[j] > o[i]).any()]
        assert all(ranks[j] < ranks[i] for j in dominators)
        if ranks[i] > 1:
            assert any(ranks[j] == ranks[i] - 1 for j in dominators)
    assert front_ranks([[0.9, math.nan], [0.8, 3.0]], ["maximize", "minimize"]) == [0, 1]


def test_knee_is_closest_to_the_utopia_point_after_normalizing():
    front = [[0.95, 1000.0], [0.90, 50.0], [0.80, 10.0]]  # accuracy up, n_params down
    # u = (o - min) / (max - min): accuracy (1, 2/3, 0); -n_params (0, 950/990, 1)
    d = [math.hypot(0, 1), math.hypot(1 / 3, 40 / 990), math.hypot(1, 0)]
    assert knee_index(front, ["maximize", "minimize"]) == int(np.argmin(d)) == 1
    assert knee_index([[0.9, 5.0], [0.8, 5.0]], ["maximize", "minimize"]) == 0  # shared value


def _trial(number, acc, size, state="complete", loss=0.5):
    return Trial(
        number=number, params={}, value=acc, state=state, val_loss=loss,
        user_attrs={"objectives": {"accuracy": acc, "n_params": size}},
    )  # fmt: skip


def test_select_rules_and_the_order_fronts_rank_in():
    names, directions = ["accuracy", "n_params"], ["maximize", "minimize"]
    trials = [
        _trial(0, 0.80, 10),
        _trial(1, 0.95, 1000),
        _trial(2, 0.90, 50),
        _trial(3, 0.85, 60),  # dominated by trial 2
        _trial(4, 0.99, 5, state="pruned"),  # pruned: on no front
    ]
    ranked = rank_by_front(trials, names, directions)
    assert [t.number for t in ranked] == [1, 2, 0, 3, 4]
    assert [t.get("front") for t in ranked] == [1, 1, 1, 2, 0]
    assert [t.number for t in pareto_trials(trials, names, directions)] == [1, 2, 0]
    assert select_trial(trials, names, directions, "first_objective").number == 1
    assert select_trial(trials, names, directions, "knee").number == 2


def test_multi_objective_strategies_learn_from_value_tuples():
    space = space_of(**NUMERIC)
    dists = distributions(space)
    params = {"optimizer.lr": 1e-3, "optimizer.beta1": 0.9}
    assert completed_trial(space, params, (0.5, 3.0), dists).values == [0.5, 3.0]
    assert completed_trial(space, params, (0.5, math.nan), dists).values is None
    for name in ("nsga2", "tpe", "gp", "qmc"):
        s = parse_settings(
            {**BASE, "strategy": name, "batch": 4, "objectives": ["accuracy", "n_params"]}
        )
        strategy = make_strategy(s)
        history = []
        for r in range(3):
            rng = np.random.default_rng([0, r])
            ps = strategy.suggest(space, list(history), 4, rng)
            history += [
                (p, (-abs(np.log10(p["optimizer.lr"]) + 3), p["optimizer.beta1"])) for p in ps
            ]  # noqa: E501
        again = make_strategy(s).suggest(space, history[:8], 4, np.random.default_rng([0, 2]))
        assert again == [p for p, _ in history[8:]]  # reproducible from the seed


DIGITS = {
    "data": {"source": "digits", "seed": 0},
    "model": {"hidden": [8]},
    "optimizer": {"name": "adam", "lr": 0.01},
    "train": {"epochs": 6, "batch_size": 64, "patience": 100, "dtype": "float64"},
    "search": {
        "strategy": "nsga2",
        "trials": 12,
        "batch": 6,
        "seed": 0,
        "objectives": ["accuracy", "n_params"],
        "halving": {"min_epochs": 2, "eta": 3},  # acts on the first objective
        "space": {
            "model.hidden": {"choice": [[1], [2], [4], [8], [16], [32]]},
            "optimizer.lr": {"log_uniform": [3e-3, 3e-2]},
        },
    },
}


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    out = tmp_path_factory.mktemp("pareto") / "run"
    return tune(copy.deepcopy(DIGITS), out=out, verbose=0), out


def test_a_two_objective_search_saves_a_study_plot_pareto_front_draws(searched):
    result, out = searched
    study = optuna.load_study(study_name=result.plan.name, storage=f"sqlite:///{out / 'study.db'}")
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert study.metric_names == ["accuracy", "n_params"]
    front = {t.user_attrs["index"] for t in study.best_trials}
    assert front == {t.number for t in result.best_trials} and len(front) >= 3
    fig = optuna.visualization.plot_pareto_front(study)
    complete = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert sum(len(tr.x) for tr in fig.data if tr.x is not None) == len(complete)
    best = next(tr for tr in fig.data if "Best Trial" in (tr.hovertemplate or ""))
    assert len(best.x) == len(front) >= 3  # a non-trivial front, drawn
    for t in result.trials:  # the values stored are the trial's objectives, in order
        if t.number in front:
            (stored,) = [s for s in study.best_trials if s.user_attrs["index"] == t.number]
            assert stored.values == [t["objectives"]["accuracy"], t["objectives"]["n_params"]]


def test_halving_acts_on_the_first_objective_and_pruned_trials_are_on_no_front(searched):
    result, _ = searched
    pruned = [t for t in result.trials if t.state == "pruned"]
    assert pruned and all(t["front"] == 0 for t in pruned)
    for t in pruned:  # pruned at the rung by a member of its population more accurate then
        rivals = [r for r in result.trials if r["population"] == t["population"] and r is not t]
        at_rung = [max(v for v in r.history["val_score"][:2] if v is not None) for r in rivals]
        assert max(at_rung) >= max(v for v in t.history["val_score"][:2] if v is not None)


def test_the_costs_are_measured_on_the_member_alone(searched):
    result, _ = searched
    for t in result.trials:
        if t.scored:
            hidden = json.loads(t.params["model.hidden"])[0]
            assert t["objectives"]["accuracy"] == t.value  # the first one: the val score
            assert t["objectives"]["n_params"] == 64 * hidden + hidden + hidden * 10 + 10


def test_flops_predict_ms_and_other_metrics_as_objectives(tmp_path):
    cfg = iris_config(
        strategy="random", trials=4,
        objectives=["accuracy", "log_loss", "loss", "flops", "predict_ms"],
    )  # fmt: skip
    result = tune(cfg, out=tmp_path / "run", verbose=0, outputs=False)
    data = load_data_for([result.plan.base_config()])
    for t in result.trials:
        obj, hidden = t["objectives"], json.loads(t.params["model.hidden"])[0]
        assert obj["flops"] == 2 * (4 * hidden + hidden * 3)  # 2 per multiply-add
        assert 0 < obj["predict_ms"] < 1e3 and obj["loss"] == t.val_loss
        model = result.model_of(t, data)  # log loss of the member alone, in its units
        proba = model.predict_proba(data.X_val, preprocessed=True)
        reference = sklearn_log_loss(data.y_val, proba, labels=list(range(proba.shape[1])))
        assert obj["log_loss"] == pytest.approx(reference, rel=1e-9) and obj["log_loss"] > 0


def test_final_model_front_members_and_result_views(searched):
    result, _ = searched
    front = result.pareto_front()
    assert result.best.number == front[0].number  # select = first_objective
    assert result.best.value == max(t.value for t in front)
    frame = result.trials_dataframe()
    assert {"values_accuracy", "values_n_params", "front"} <= set(frame.columns)
    summary = result.summary()
    assert [p["trial"] for p in summary["pareto_front"]] == [t.number for t in front]
    assert summary["objectives"][0] == "accuracy" and summary["select"] == "first_objective"
    other = front[-1]  # the smallest member of the front, rebuilt from its record
    assert other.number != result.best.number
    data = load_data_for([result.plan.base_config()])
    model = result.model_of(other, data)
    assert model._net.n_params == other["objectives"]["n_params"]
    # the core invariant: trained again alone, the member scores what it scored
    assert metric_value("accuracy", model, data) == pytest.approx(other.value, abs=1e-12)
    board = pd.read_csv(result.run_dir + "/leaderboard.csv")
    fronts = board["front"].replace(0, np.inf).tolist()
    assert fronts == sorted(fronts) and board["front"].iloc[0] == 1


def test_knee_selection_on_the_saved_front(searched):
    result, _ = searched
    names, dirs = result.objectives, result.directions
    knee = select_trial(result.trials, names, dirs, "knee")
    values = [[t["objectives"][n] for n in names] for t in result.pareto_front()]
    assert knee.number == result.pareto_front()[knee_index(values, dirs)].number


def test_report_leaderboard_and_pareto_figure(searched):
    result, out = searched
    run = load_run(out)
    assert run.trials["front"].iloc[0] == 1
    info = pareto_info(run)
    assert info is not None and info.names[:2] == ["accuracy", "n_params"]
    assert {i for i, f in zip(info.ids, info.fronts, strict=True) if f == 1} == {
        t.number for t in result.pareto_front()
    }
    assert info.chosen == result.best.number
    fig = pareto_front(run, info)
    assert len(fig.data) >= 2 * (len(info.names) - 1)  # dominated + front per panel
    assert "Pareto front" in (out / "report.html").read_text()
    assert result.plot_pareto_front().data


def test_caviar_tune_prints_the_front_and_refuses_a_bad_objective_with_exit_2(tmp_path, capsys):
    from tests.tuning.tune_helpers import write_toml

    from caviar.cli import main

    good = write_toml(
        tmp_path / "good.toml", iris_config(trials=4, objectives=["accuracy", "n_params"])
    )
    assert main(["tune", str(good), "-o", str(tmp_path / "run")]) == 0
    assert "Pareto front of accuracy, n_params:" in capsys.readouterr().out
    bad = write_toml(tmp_path / "bad.toml", iris_config(trials=4, objectives=["accuracy", "size"]))
    assert main(["tune", str(bad), "-o", str(tmp_path / "bad_run")]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown objective 'size'" in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "bad_run").exists()
