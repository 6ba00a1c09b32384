"""The figures of a run, as plotly figures, from a run directory or a result object.

Every ``plot_*`` function takes a run directory (``caviar train`` / ``caviar tune``
output), a ``TuneResult`` (``caviar.tune``) or a ``TrainRun`` (``caviar.train``) and
always returns a :class:`plotly.graph_objects.Figure` (one with no data and a title
saying why, when the run has nothing to draw: a single round, too few scored trials).
They are the report's figures (:mod:`caviar.report`); each is drawn from a small
info object computed first (``caviar.report.*.…_info`` functions return NamedTuples),
as Optuna's ``optuna.visualization`` does.

* :func:`plot_optimization_history`: each trial's validation score and the best so far;
* :func:`plot_learning_curves` / :func:`plot_score_curves`: loss / score per epoch;
* :func:`plot_params`: each hyperparameter against the score;
* :func:`plot_param_importances`: fANOVA importance (mean and spread over seeds);
* :func:`plot_contour`: the score over pairs of the most important hyperparameters
  (``importances`` passed explicitly, else computed);
* :func:`plot_parallel_coordinate`: every scored trial across its hyperparameters;
* :func:`plot_rounds`: scores and sampled values per search round;
* :func:`plot_halving`: successive halving's rungs (trials still training per epoch)
  and each trial's score against the epochs it ran;
* :func:`plot_pareto_front`: a search with several objectives, the first against each
  other one, its Pareto front highlighted.

Examples
--------
>>> from caviar import plots
>>> fig = plots.plot_optimization_history("runs/tune_digits")  # doctest: +SKIP
>>> fig.show()  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly.graph_objects as go

from caviar.errors import CaviarError
from caviar.report import figures
from caviar.report.data import RunData, load_run, study_run_data, train_run_data
from caviar.report.importance import ImportanceInfo, importance_figure, importance_info
from caviar.report.style import LAYOUT

Source = Any  # a run directory (str | Path), a TuneResult, a TrainRun or a RunData


def run_data(source: Source) -> RunData:
    """The report's frames of ``source`` (see the module docstring)."""
    if isinstance(source, RunData):
        return source
    if isinstance(source, (str, Path)):
        return load_run(source)
    kind = getattr(source, "kind", None)
    run_dir = Path(getattr(source, "run_dir", None) or ".")
    if kind == "tune":
        from caviar.results.study import study_of

        summary = source.outputs or source.summary()
        return study_run_data(run_dir, study_of(source), source.plan.name, summary)
    if kind == "train":
        from caviar.results.frames import train_history, train_leaderboard
        from caviar.results.study import study_of_trials
        from caviar.training.scoring import score_name

        summary = source.outputs or {
            "score_name": score_name(source.best.config.train.metric, source.data.task),
            "test_score": source.test_score,
            "seconds": source.seconds,
        }
        run = train_run_data(train_leaderboard(source), train_history(source), run_dir, summary)
        run.study = study_of_trials(source.trials)  # importance of a train grid too
        run.records = list(source.trials)
        return run
    raise CaviarError(
        f"cannot plot a {type(source).__name__}: pass a run directory, a TuneResult or a TrainRun"
    )


def _or_empty(fig: go.Figure | None, why: str) -> go.Figure:
    if fig is not None:
        return fig
    empty = go.Figure()
    empty.update_layout(**LAYOUT, title=f"nothing to draw: {why}", height=240)
    return empty


def plot_optimization_history(source: Source) -> go.Figure:
    """Each scored trial's validation score and the best so far, by trial and by time."""
    return _or_empty(figures.optimization_history(run_data(source)), "no scored trial")


def plot_learning_curves(source: Source) -> go.Figure:
    """Training and validation loss per epoch (log axes), one line per trial or member."""
    run = run_data(source)
    if run.curves.empty:
        return _or_empty(None, "no per-epoch history")
    return figures.learning_curves(run)


def plot_score_curves(source: Source) -> go.Figure:
    """Training and validation score per epoch, one line per trial or member."""
    run = run_data(source)
    if run.curves.empty:
        return _or_empty(None, "no per-epoch history")
    return figures.score_curves(run)


def plot_params(source: Source) -> go.Figure:
    """One panel per hyperparameter: its value against the validation score."""
    return figures.params_vs_score(run_data(source))


def plot_param_importances(source: Source, info: ImportanceInfo | None = None) -> go.Figure:
    """fANOVA importance of each hyperparameter over every scored trial (``info``: the
    importances already computed by :func:`caviar.report.importance.importance_info`)."""
    if info is None:
        info = importance_info(run_data(source).study)
    return _or_empty(importance_figure(info), info.note)


def plot_contour(source: Source, importances: list[str] | None = None) -> go.Figure:
    """The validation score over the pairs of the three most important hyperparameters;
    ``importances``: the parameters most important first (default: computed by fANOVA,
    else the space's order)."""
    run = run_data(source)
    if importances is None:
        importances = importance_info(run.study).order
    return _or_empty(
        figures.contours(run, importances or None), "fewer than 2 hyperparameters or 3 scores"
    )


def plot_parallel_coordinate(source: Source) -> go.Figure:
    """Every trial with a finite score as one line across its hyperparameters and score."""
    return figures.parallel_coordinates(run_data(source))


def plot_rounds(source: Source) -> go.Figure:
    """Validation scores and sampled values per search round (coarse-to-fine narrows its
    box; halving stops trials early in each round)."""
    return _or_empty(figures.rounds(run_data(source)), "the run has a single round")


def plot_halving(source: Source) -> go.Figure:
    """Successive halving's rungs: trials still training at each epoch, and each trial's
    validation score against the epochs it ran."""
    from caviar.report.halving import halving

    return _or_empty(halving(run_data(source)), "every trial ran the same number of epochs")


def plot_pareto_front(source: Source) -> go.Figure:
    """A search with several objectives (``search.objectives``): the first objective
    against each other one, the Pareto front highlighted and the final model starred
    (info: ``caviar.report.pareto.pareto_info``)."""
    return _or_empty(figures.pareto_front(run_data(source)), "the search has one objective")


__all__ = [
    "plot_contour",
    "plot_halving",
    "plot_learning_curves",
    "plot_optimization_history",
    "plot_param_importances",
    "plot_parallel_coordinate",
    "plot_params",
    "plot_pareto_front",
    "plot_rounds",
    "plot_score_curves",
    "run_data",
]
