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
    assert labels == ["log10 lr", "log10(1-beta1)", "hidden", "patience", "val accuracy"]
    finite = run.trials[np.isfinite(run.trials["val_score"])]
    assert all(len(d.values) == len(finite) for d in pc.dimensions)
    np.testing.assert_allclose(pc.dimensions[0].values, np.log10(finite["optimizer.lr"]))
    assert list(pc.dimensions[2].ticktext) == ["[16]", "[8]"]


def test_importance_from_the_study(tune_run):
    run = load_run(tune_run)
    fig, note = figures.importance(run)
    assert note == "" and fig is not None
    (bar,) = fig.data
    assert sorted(bar.y) == sorted(figures.short(p) for p in run.params)
    assert math.isclose(sum(bar.x), 1.0, rel_tol=1e-6)


def test_importance_note_when_it_cannot_be_computed():
    study = optuna.create_study(direction="maximize")
    dist = {"x": optuna.distributions.FloatDistribution(0, 1)}
    study.add_trial(optuna.trial.create_trial(params={"x": 0.5}, distributions=dist, value=1.0))
    run = RunData("tune", None, pd.DataFrame(), pd.DataFrame(), ["x"], {"x": "linear"}, study=study)
    fig, note = figures.importance(run)
    assert fig is None and "at least 3 complete trials (this study has 1)" in note
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
