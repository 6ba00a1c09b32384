"""The Pareto front of a search with several objectives (``search.objectives``).

Every trial with a value for each objective is a point: the first objective on the
vertical axis, each other objective on the horizontal axis of its own panel (two
objectives: one panel, the figure ``optuna.visualization.plot_pareto_front`` draws).
Trials on the Pareto front (front 1: no trial is at least as good on every objective and
better on one; :mod:`caviar.tuning.pareto`) are drawn large and joined in order along
the panel's axis; the dominated ones small and grey; the final model's trial
(``search.select``) as a star.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from caviar.report.style import BEST, LAYOUT

#: the column of objective ``name`` in :attr:`caviar.report.data.RunData.trials`
PREFIX = "objective:"


class ParetoInfo(NamedTuple):
    """``names`` and ``directions`` of the objectives; per point (a trial with every
    value): its trial ``ids``, ``values`` (one list per trial, objective order) and
    ``fronts`` (1 = the Pareto front); ``chosen``: the final model's trial (or None)."""

    names: list[str]
    directions: list[str]
    ids: list[int]
    values: list[list[float]]
    fronts: list[int]
    chosen: int | None


def pareto_info(run) -> ParetoInfo | None:
    """The points of a run with several objectives; None for one objective (or none
    with every value)."""
    names, directions = study_objectives(run.study)
    if len(names) < 2 or "front" not in run.trials.columns or len(directions) != len(names):
        return None
    cols = [PREFIX + n for n in names]
    if any(c not in run.trials.columns for c in cols):
        return None
    frame = run.trials[["id", "front", *cols]].copy()
    values = frame[cols].astype(float).to_numpy()
    ok = np.isfinite(values).all(axis=1)
    if not ok.any():
        return None
    chosen = run.summary.get("best_index")
    return ParetoInfo(
        names,
        directions,
        [int(i) for i in frame["id"][ok]],
        values[ok].tolist(),
        [int(f) for f in frame["front"][ok].fillna(0)],
        int(chosen) if isinstance(chosen, (int, float)) else None,
    )


def study_objectives(study) -> tuple[list[str], list[str]]:
    """The objective names and directions of a multi-objective Optuna ``study`` (names:
    its metric names, as caviar sets them); two empty lists for one objective."""
    directions = [d.name.lower() for d in getattr(study, "directions", None) or []]
    if len(directions) < 2:
        return [], []
    names = list(study.metric_names or [f"objective {k}" for k in range(len(directions))])
    return names, directions


def pareto_front(run, info: ParetoInfo | None = None) -> go.Figure | None:
    """One panel per objective after the first: the first objective against it, the
    Pareto front highlighted (module docstring); None with fewer than two objectives."""
    info = info if info is not None else pareto_info(run)
    if info is None:
        return None
    v = np.asarray(info.values)
    front = np.asarray(info.fronts) == 1
    ids = np.asarray(info.ids)
    panels = len(info.names) - 1
    fig = make_subplots(rows=1, cols=panels, shared_yaxes=True, horizontal_spacing=0.06)
    for k in range(1, panels + 1):
        x, y, legend = v[:, k], v[:, 0], k == 1
        _points(fig, x[~front], y[~front], ids[~front], "dominated", "#b0b0b0", 6, legend, k)
        order = np.argsort(x[front], kind="stable")
        fx, fy, fid = x[front][order], y[front][order], ids[front][order]
        _points(fig, fx, fy, fid, "Pareto front", "#1f77b4", 10, legend, k, line=True)
        if info.chosen is not None and info.chosen in info.ids:
            j = info.ids.index(info.chosen)
            fig.add_trace(
                go.Scatter(
                    x=[v[j, k]], y=[v[j, 0]], mode="markers", name="final model",
                    marker={"symbol": "star", "size": 18, "color": BEST},
                    showlegend=legend,
                    hovertemplate=f"final model: trial {info.chosen}<extra></extra>",
                ),
                row=1, col=k,
            )  # fmt: skip
        fig.update_xaxes(title_text=_label(info, k), row=1, col=k)
    fig.update_yaxes(title_text=_label(info, 0), row=1, col=1)
    n = int(front.sum())
    fig.update_layout(
        **LAYOUT, height=440, title=f"Pareto front: {n} of {len(ids)} trials are not dominated"
    )
    return fig


def _label(info: ParetoInfo, k: int) -> str:
    better = "higher" if info.directions[k] == "maximize" else "lower"
    return f"{info.names[k]} ({better} is better)"


def _points(fig, x, y, ids, name, color, size, legend, col, line=False) -> None:
    fig.add_trace(
        go.Scatter(
            x=x, y=y, customdata=ids, name=name, showlegend=legend, legendgroup=name,
            mode="lines+markers" if line else "markers",
            line={"color": color, "width": 1.5},
            marker={"size": size, "color": color},
            hovertemplate="trial %{customdata}: (%{x:.4g}, %{y:.4g})<extra></extra>",
        ),
        row=1, col=col,
    )  # fmt: skip


__all__ = ["PREFIX", "ParetoInfo", "study_objectives", "pareto_front", "pareto_info"]
