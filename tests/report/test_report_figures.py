"""caviar.report.figures: every figure has the traces, counts and axes the data implies."""

import math

import numpy as np
import optuna
import pandas as pd

from caviar.report import figures
from caviar.report.data import RunData, load_run


def _axis(fig, k):
    return fig.layout["xaxis" if k == 1 else f"xaxis{k}"]


def test_learning_curves_every_member_best_highlighted(tune_run):
    run = load_run(tune_run)
    fig = figures.learning_curves(run)
    n = run.curves["id"].nunique()
    assert len(fig.data) == 2 * n  # training and validation panel
    assert all(len(t.x) > 0 for t in fig.data)
    best = [t for t in fig.data if t.line.color == figures.BEST]
    assert len(best) == 2 and {t.line.width for t in best} == {3.0}
    assert best[0].name == f"best (trial {run.best_id})"
    pruned = set(run.trials.loc[run.trials["status"] == "pruned", "id"])
    dashed = [t for t in fig.data if t.line.dash == "dash"]
    assert len(dashed) == 2 * len(pruned - {run.best_id})
    # each curve has the member's epochs; y values are the recorded losses
    lengths = sorted(len(t.x) for t in fig.data)
    assert lengths == sorted(2 * list(run.curves.groupby("id").size()))
    assert fig.layout.yaxis.type == "log"


def test_learning_curves_diverged_drawn_apart_and_range_clipped(train_run):
    run = load_run(train_run)
    fig = figures.learning_curves(run)
    assert len(fig.data) == 2 * len(run.trials)
    dotted = [t for t in fig.data if t.line.dash == "dot"]
    assert len(dotted) == 2 and {t.name for t in dotted} == {"diverged / failed"}
    ok = run.curves[~run.curves["id"].isin(run.trials.loc[run.trials.status == "diverged", "id"])]
    lo, hi = fig.layout.yaxis2.range
    assert lo < math.log10(ok["val_loss"].min()) and hi > math.log10(ok["val_loss"].max())
    assert fig.data[0].name != "best"  # the best member is drawn last (on top)
    assert fig.data[-1].name == f"best (member {run.best_id})"


def test_params_vs_score_axes_follow_the_search_space(tune_run):
    run = load_run(tune_run)
    fig = figures.params_vs_score(run)
    kinds = {p: _axis(fig, k + 1).type for k, p in enumerate(run.params)}
    assert kinds == {
        "optimizer.lr": "log",
        "optimizer.beta1": "log",  # drawn as 1 - beta1
        "model.hidden": "category",
        "train.patience": "linear",
    }
    assert "1 - beta1" in _axis(fig, 2).title.text
    # per panel: every trial with a finite score once (status groups), plus the best star
    finite = int(np.isfinite(run.trials["val_score"]).sum())
    for k in range(len(run.params)):
        ref = "x" if k == 0 else f"x{k + 1}"
        traces = [t for t in fig.data if t.xaxis == ref]
        stars = [t for t in traces if t.marker.symbol == "star"]
        assert len(stars) == 1
        assert sum(len(t.x) for t in traces if t not in stars) == finite
    beta = next(t for t in fig.data if t.xaxis == "x2" and t.marker.symbol != "star")
    ids = [int(s.split()[-1]) for s in beta.text]
    expected = 1 - run.trials.set_index("id").loc[ids, "optimizer.beta1"].to_numpy()
    np.testing.assert_allclose(beta.x, expected)


def test_parallel_coordinates_dimensions(tune_run):
    run = load_run(tune_run)
    fig = figures.parallel_coordinates(run)
    (pc,) = fig.data
    labels = [d.label for d in pc.dimensions]
    assert labels == ["lr", "beta1", "hidden", "patience", "val accuracy"]  # named, not log10
    finite = run.trials[np.isfinite(run.trials["val_score"])]
    assert all(len(d.values) == len(finite) for d in pc.dimensions)
    # spaced as sampled (log10), labelled in values: tick 10**v reads as the value itself
    np.testing.assert_allclose(pc.dimensions[0].values, np.log10(finite["optimizer.lr"]))
    lr, beta = pc.dimensions[0], pc.dimensions[1]
    assert len(lr.tickvals) >= 2
    for v, text in zip(lr.tickvals, lr.ticktext, strict=True):
        assert math.isclose(float(text), 10**v, rel_tol=1e-3)
    for v, text in zip(beta.tickvals, beta.ticktext, strict=True):  # beta1 = 1 - 10**v
        assert math.isclose(float(text), 1 - 10**v, rel_tol=1e-3)
    assert list(pc.dimensions[2].ticktext) == ["[16]", "[8]"]


def test_importance_from_every_scored_trial_with_its_spread_over_seeds(tune_run):
    from caviar.report import importance as imp

    run = load_run(tune_run)
    fig, note = figures.importance(run)
    assert fig is not None
    scored = int(np.isfinite(run.trials["val_score"]).sum())  # pruned ones too
    assert scored > int((run.trials["status"] == "complete").sum())
    assert f"over {scored} scored trials" in fig.layout.title.text
    assert f"only {scored} scored trials" in note  # fewer than 20: a warning
    (bar,) = fig.data
    assert sorted(bar.y) == sorted(figures.short(p) for p in run.params)
    assert math.isclose(sum(bar.x), 1.0, rel_tol=1e-6)  # means of normalized importances
    # the bars are the mean over the seeds, the whiskers their standard deviation
    stats, n = imp.importances(run.study)
    assert n == scored and [figures.short(p) for p in stats] == list(bar.y)[::-1]
    assert imp.importance_info(run.study).order == list(stats)  # what the contours pair
    one = [
        optuna.importance.get_param_importances(
            imp.scored_study(run.study),
            evaluator=optuna.importance.FanovaImportanceEvaluator(n_trees=imp.TREES, seed=s),
        )
        for s in imp.SEEDS
    ]
    for p, (mean, std) in stats.items():
        values = [r[p] for r in one]
        assert math.isclose(mean, np.mean(values), abs_tol=1e-12)
        assert math.isclose(std, np.std(values), abs_tol=1e-12)
    assert [stats[p][1] for p in list(stats)[::-1]] == list(bar.error_x.array)
    assert list(stats) == sorted(stats, key=lambda p: -stats[p][0])  # ranked by the mean


def test_importance_note_when_it_cannot_be_computed():
    study = optuna.create_study(direction="maximize")
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    study.add_trial(optuna.trial.create_trial(params={"x": 0.5}, distributions=dist, value=1.0))
    run = RunData("tune", None, pd.DataFrame(), pd.DataFrame(), ["x"], {"x": "linear"}, study=study)
    fig, note = figures.importance(run)
    assert fig is None and "at least 3 scored trials (this study has 1)" in note
    for x in (0.1, 0.9):  # three trials, all scoring the same: zero variance
        study.add_trial(optuna.trial.create_trial(params={"x": x}, distributions=dist, value=1.0))
    fig, note = figures.importance(run)
    assert fig is None and note.startswith("hyperparameter importance could not be computed")
    assert "variance" in note
    fig, note = figures.importance(RunData("train", None, pd.DataFrame(), pd.DataFrame(), [], {}))
    assert fig is None and "Optuna study" in note


def test_rounds_only_when_present(tune_run, train_run):
    run = load_run(tune_run)
    fig = figures.rounds(run)
    scatter, best, *sampled = fig.data
    assert sorted(set(scatter.x)) == [0, 1] and len(scatter.x) == len(run.trials)
    per_round = run.trials.groupby("round")["val_score"].max().cummax()
    np.testing.assert_allclose(best.y, per_round.to_numpy())
    # one panel per numeric knob (lr, beta1 as 1 - beta1, patience), log axes where logged
    assert [t.yaxis for t in sampled] == ["y2", "y3", "y4"]
    assert [fig.layout[f"yaxis{k}"].type for k in (2, 3, 4)] == ["log", "log", "linear"]
    np.testing.assert_allclose(sampled[0].y, run.trials["optimizer.lr"])
    assert list(sampled[0].x) == run.trials["round"].tolist()
    assert figures.rounds(load_run(train_run)) is None


def test_diagnose_figures(diagnose_dir):
    (report,) = load_run(diagnose_dir).diagnose
    g = figures.gradient_norms(report)
    assert len(g.data) == len(report["gradient_norms"]["layers"])
    assert all(len(t.y) == 2 for t in g.data) and g.layout.yaxis.type == "log"
    lr = figures.lr_range(report)
    assert lr.layout.xaxis.type == "log"
    assert list(lr.data[0].x) == report["lr_range_test"]["lrs"]
    assert figures.lr_range({"lr_range_test": {"applicable": False}}) is None
    assert figures.gradient_norms({}) is None


def test_log_axes_are_labelled_in_values_without_minor_digits():
    from caviar.report.style import log_axis, log_ticks, tick_label

    assert log_ticks(1e-6, 1e-1) == [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1]  # many decades
    assert log_ticks(0.03, 0.4) == [0.05, 0.1, 0.2]  # within a decade: 1-2-5 steps
    ticks = log_ticks(0.31, 0.39)  # narrower than 1-2-5: 1..9 steps, still two at least
    assert len(ticks) >= 2 and all(0.31 <= t <= 0.39 for t in ticks)
    # 1 - beta1 over 0.021-0.114 (the report's small panel): 1-2-3-5 steps, not nine
    # labels 0.03 ... 0.1 that overlapped in a 300-pixel panel
    assert log_ticks(0.0213, 0.114) == [0.03, 0.05, 0.1]
    assert log_ticks(0.0213, 0.0991) == [0.03, 0.05, 0.07, 0.09]  # 1..9, every other one
    assert all(len(log_ticks(a, a * f)) <= 5 for a in (0.011, 0.13, 2.1) for f in (3, 8))
    assert [tick_label(t) for t in (2e-5, 0.002, 0.5, 20.0, 3e4)] == [
        "2e-5",
        "0.002",
        "0.5",
        "20",
        "3e4",
    ]
    axis = log_axis([0.5, 1.2, None, -1.0, 2.0])  # non-positive values ignored
    lo, hi = axis["range"]
    assert lo < math.log10(0.5) and hi > math.log10(2.0)  # padded: nothing on the frame
    assert axis["ticktext"] == ["0.5", "1", "2"]


def test_learning_curves_leave_room_for_epoch_1_and_scores_sit_beside(tune_run):
    run = load_run(tune_run)
    loss, score = figures.learning_curves(run), figures.score_curves(run)
    for fig in (loss, score):
        assert fig.layout.xaxis.range[0] < 1 < fig.layout.xaxis.range[1]
    v = run.curves["val_loss"].astype(float)
    lo, hi = loss.layout.yaxis2.range
    assert lo < math.log10(v.min()) and hi > math.log10(v.max())  # epoch 1 not clipped
    assert len(score.data) == len(loss.data)
    assert {t.yaxis for t in score.data} == {"y", "y2"}
    assert "accuracy" in score.layout.annotations[1].text


def test_early_stopped_is_drawn_apart_from_complete():
    from caviar.report.style import style

    assert style("early_stopped")[0] == "early-stopped" != style("complete")[0]
    assert style("early_stopped")[1] != style("complete")[1]


def test_optimization_history_by_trial_and_by_wall_time(tune_run):
    run = load_run(tune_run)
    fig = figures.optimization_history(run)
    scored = run.trials[np.isfinite(run.trials["val_score"])]
    by_trial = [t for t in fig.data if t.xaxis == "x" and t.mode == "markers"]
    assert sum(len(t.x) for t in by_trial) == len(scored)  # every scored trial, pruned too
    best = [t for t in fig.data if t.name == "best so far"]
    assert [t.xaxis for t in best] == ["x", "x2"]
    order = scored.sort_values("id")
    np.testing.assert_allclose(best[0].y, order["val_score"].cummax())
    by_time = scored.sort_values("end", kind="stable")
    np.testing.assert_allclose(best[1].x, by_time["end"])
    assert (scored["end"] > scored["start"]).all() and (scored["start"] >= 0).all()


def test_contours_of_the_most_important_pairs(tune_run):
    run = load_run(tune_run)
    from caviar.report.importance import importance_info

    order = importance_info(run.study).order  # passed explicitly, nothing kept on run
    fig = figures.contours(run, order)
    top = [figures.short(p) for p in order[:3]]
    titles = [a.text for a in fig.layout.annotations]
    assert titles == [
        f"{a} and {b}" for a, b in ((top[0], top[1]), (top[0], top[2]), (top[1], top[2]))
    ]
    points = [t for t in fig.data if t.type == "scatter"]
    assert len(points) == 3
    assert all(len(t.x) == int(np.isfinite(run.trials["val_score"]).sum()) for t in points)
    assert any(t.type == "contour" for t in fig.data)


def test_seed_is_a_category_and_a_flat_range_test_suggests_nothing(train_run):
    from caviar.report.data import _scale

    assert _scale("int_uniform", None, "train.seed") == "categorical"
    assert _scale("int_uniform", None, "train.patience") == "linear"
    flat = {
        "lr_range_test": {
            "applicable": True,
            "lrs": [1e-5, 1e-4, 1e-3, 1e-2],
            "losses": [2.30, 2.29, 2.28, 2.31],
            "suggested_lr": 5.7e-4,
            "min_loss_lr": 1e-4,
        }
    }
    fig = figures.lr_range(flat)
    assert figures.is_flat(flat["lr_range_test"]["losses"])
    assert len(fig.data) == 1 and "no clear minimum" in fig.layout.title.text
    steep = {"lr_range_test": {**flat["lr_range_test"], "losses": [2.3, 1.5, 0.9, 4.0]}}
    assert not figures.is_flat(steep["lr_range_test"]["losses"])
    assert len(figures.lr_range(steep).data) == 3
