"""The report's figures compute, then draw: each info function's NamedTuple checked
against the run's own numbers (not the traces), and the figure drawn from it."""

import math

import numpy as np
import pandas as pd
import pytest

from caviar.report import figures
from caviar.report.data import load_run
from caviar.report.history import history_info, optimization_history
from caviar.report.importance import importance_figure, importance_info, importances
from caviar.report.params import contour_info, contours, parallel_info
from caviar.report.rounds import rounds_info


@pytest.fixture(scope="module")
def run(tune_run):
    return load_run(tune_run)


def test_history_info_is_the_running_best_by_trial_and_by_time(run):
    info = history_info(run)
    score = run.trials["val_score"].astype(float)
    finite = run.trials[np.isfinite(score)]
    assert info.n_scored == len(finite) > 0
    by_trial, by_time = info.panels
    assert (by_trial.column, by_time.column) == ("id", "end")
    order = finite.sort_values("id")
    assert by_trial.best_x == order["id"].astype(float).tolist()
    assert by_trial.best_y == list(np.maximum.accumulate(order["val_score"].to_numpy()))
    assert by_time.best_x == sorted(finite["end"].astype(float))
    assert all(a <= b for a, b in zip(by_time.best_y, by_time.best_y[1:], strict=False))
    fig = optimization_history(run, info)  # drawn from the info
    lines = [t for t in fig.data if t.name == "best so far"]
    assert [list(t.y) for t in lines] == [by_trial.best_y, by_time.best_y]


def test_history_info_none_without_a_scored_trial(run):
    empty = run.trials.assign(val_score=math.nan)
    none = type(run)(**{**run.__dict__, "trials": empty})
    assert history_info(none) is None and optimization_history(none) is None


def test_importance_info_ranks_by_the_mean_and_passes_its_order_explicitly(run):
    info = importance_info(run.study)
    stats, n = importances(run.study)
    assert info.importances == stats and info.n_scored == n
    assert info.order == sorted(stats, key=lambda p: -stats[p][0])
    assert "only" in info.note  # fewer than 20 scored trials: the warning
    assert list(importance_figure(info).data[0].y) == [figures.short(p) for p in info.order][::-1]
    # the contours pair the order they are given, nothing is kept on the run
    reverse = info.order[::-1]
    pairs = [(p.a, p.b) for p in contour_info(run, reverse).panels]
    assert pairs == [(reverse[0], reverse[1]), (reverse[0], reverse[2]), (reverse[1], reverse[2])]
    assert not hasattr(run, "importance_order")
    none = importance_info(None)
    assert none.importances == {} and "needs an Optuna study" in none.note


def test_parallel_info_axes_are_the_sampled_space(run):
    info = parallel_info(run)
    ok = run.trials[np.isfinite(run.trials["val_score"].astype(float))]
    assert info.scores == ok["val_score"].tolist()
    by_label = {d["label"]: d for d in info.dimensions}
    assert list(by_label) == [figures.short(p) for p in run.params]
    lr = by_label[figures.short("optimizer.lr")]  # log-uniform: log10 of the values
    np.testing.assert_allclose(lr["values"], np.log10(ok["optimizer.lr"].astype(float)))
    beta = by_label[figures.short("optimizer.beta1")]  # one minus log: log10(1 - x)
    np.testing.assert_allclose(beta["values"], np.log10(1 - ok["optimizer.beta1"].astype(float)))
    hidden = by_label[figures.short("model.hidden")]  # a choice: category codes
    assert sorted(set(hidden["values"])) == list(range(len(hidden["ticktext"])))
    assert figures.parallel_coordinates(run, info).data[0].line.color == tuple(info.scores)


def test_contour_info_interpolates_between_the_scored_trials(run):
    info = contour_info(run, ["optimizer.lr", "optimizer.beta1"])
    (panel,) = info.panels
    ok = run.trials[np.isfinite(run.trials["val_score"].astype(float))]
    np.testing.assert_allclose(panel.x, np.log10(ok["optimizer.lr"].astype(float)))
    assert len(panel.grid) == len(panel.grid_y) == 40 and len(panel.grid[0]) == 40
    inside = [v for row in panel.grid for v in row if v == v]  # linear: within the scores
    assert min(info.scores) - 1e-12 <= min(inside) and max(inside) <= max(info.scores) + 1e-12
    assert info.ids == ok["id"].astype(int).tolist()
    assert contour_info(run, ["optimizer.lr"]) is None  # one parameter: no pair
    assert len(contours(run, info=info).data) == 2  # the contour and its points


def test_rounds_info_best_so_far_per_round(run):
    info = rounds_info(run)
    frame = pd.DataFrame({"round": info.rounds, "score": info.scores})
    per_round = frame.groupby("round")["score"].max().sort_index()
    assert info.best_rounds == per_round.index.tolist() == [0, 1]
    assert info.best == list(np.maximum.accumulate(per_round.to_numpy()))
    assert set(info.sampled) == {"optimizer.lr", "optimizer.beta1", "train.patience"}
    one = type(run)(**{**run.__dict__, "trials": run.trials.assign(round=0)})
    assert rounds_info(one) is None


def test_curves_info_lines_best_last_and_ranges_without_the_diverged(train_run):
    from caviar.report.curves import curves_info, learning_curves

    run = load_run(train_run)
    info = curves_info(run)
    assert [line.id for line in info.lines][-1] == run.best_id and info.lines[-1].best
    assert sorted(line.id for line in info.lines) == sorted(run.trials["id"])
    for line in info.lines:
        rows = run.curves[run.curves["id"] == line.id]
        assert line.epochs == rows["epoch"].tolist()
        np.testing.assert_array_equal(line.values["val_loss"], rows["val_loss"].astype(float))
    diverged = run.trials["id"][run.trials["status"] == "diverged"].tolist()
    assert diverged and info.diverged  # lr = 30 diverges
    kept = run.curves[~run.curves["id"].isin(diverged)]["val_loss"].astype(float)
    assert info.kept["val_loss"] == kept[np.isfinite(kept)].tolist()
    assert max(info.kept["val_loss"]) < 1e3  # a diverged loss does not stretch the axis
    fig = learning_curves(run, info)
    assert len(fig.data) == 2 * len(info.lines) and "diverged" in fig.layout.title.text


def test_params_info_values_on_the_spaces_axes(run):
    from caviar.report.params import params_info, params_vs_score

    info = params_info(run)
    by_param = {p.param: p for p in info.panels}
    assert list(by_param) == run.params
    assert by_param["optimizer.lr"].axis == "log"
    assert by_param["optimizer.lr"].x == run.trials["optimizer.lr"].astype(float).tolist()
    beta = by_param["optimizer.beta1"]  # one-minus-log: drawn as 1 - x on a log axis
    np.testing.assert_allclose(beta.x, 1 - run.trials["optimizer.beta1"].astype(float))
    assert by_param["model.hidden"].axis == "category"
    assert info.scores[info.best_row] == max(s for s in info.scores if s == s)
    assert run.trials["id"].iloc[info.best_row] == run.best_id
    stars = [t for t in params_vs_score(run, info).data if t.marker.symbol == "star"]
    assert len(stars) == len(info.panels)


def test_halving_info_counts_the_trials_still_training_at_each_epoch(run):
    from caviar.report.halving import halving, halving_info

    info = halving_info(run)
    ran = run.trials["epochs_run"].astype(int)
    assert info.epochs == list(range(1, ran.max() + 1))
    assert info.training == [int((ran >= e).sum()) for e in info.epochs]
    assert info.training[0] == len(run.trials) and info.training[-1] < len(run.trials)
    assert sum(info.stops.values()) == int((ran < ran.max()).sum())  # pruned at the rungs
    assert 2 in info.stops  # halving.min_epochs = 2: the first rung
    assert len(halving(run, info).data) >= 2
    same = type(run)(**{**run.__dict__, "trials": run.trials.assign(epochs_run=6)})
    assert halving_info(same) is None
