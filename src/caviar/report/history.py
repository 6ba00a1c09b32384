"""Optimization history: each trial's validation score and the best so far, against
the trial (caviar's trial index: the order the search suggested them) and against
wall time (when each trial ended, seconds after the search's first trial started).

As Optuna's ``plot_optimization_history`` but over every scored trial (pruned ones at
their best epoch's score, the weights they end with), coloured by status.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from caviar.report.style import BEST, LAYOUT, status_points, who


class HistoryPanel(NamedTuple):
    """One panel: the x column (``id``: by trial, ``end``: by wall time), its title, the
    mask of the trials drawn (scored, with an x), and the best-so-far step line
    (``best_x`` ascending, ``best_y`` the running maximum of the score)."""

    column: str
    title: str
    shown: np.ndarray
    best_x: list[float]
    best_y: list[float]


class HistoryInfo(NamedTuple):
    """What the optimization history draws: its panels and the number of scored trials."""

    panels: list[HistoryPanel]
    n_scored: int


def history_info(run) -> HistoryInfo | None:
    """The panels (by trial; by wall time when the trials have end times); None without
    a scored trial."""
    t = run.trials
    score = t["val_score"].astype(float)
    ok = np.isfinite(score.to_numpy())
    if not ok.any():
        return None
    timed = "end" in t.columns and np.isfinite(t["end"].astype(float)).any()
    axes = [("id", who(run))]
    if timed:
        axes.append(("end", "seconds since the first trial started"))
    panels = []
    for column, title in axes:
        x = t[column].astype(float)
        order = pd.DataFrame({"x": x[ok], "y": score[ok]}).dropna().sort_values("x", kind="stable")
        panels.append(
            HistoryPanel(
                column,
                title,
                ok & np.isfinite(x.to_numpy()),
                order["x"].tolist(),
                order["y"].cummax().tolist(),
            )
        )
    return HistoryInfo(panels, int(ok.sum()))


def optimization_history(run, info: HistoryInfo | None = None) -> go.Figure | None:
    """Two panels (by trial, by wall time); None without a scored trial. Train runs
    (no times) get the first panel only (``info``: :func:`history_info`, computed when
    not given)."""
    info = info if info is not None else history_info(run)
    if info is None:
        return None
    fig = make_subplots(
        rows=1,
        cols=len(info.panels),
        subplot_titles=("by trial", "by wall time")[: len(info.panels)],
        horizontal_spacing=0.1,
    )
    for col, panel in enumerate(info.panels, start=1):
        x = run.trials[panel.column].astype(float)
        status_points(
            fig, run, x.tolist(), panel.shown, legend=col == 1, row=1, col=col, size=7,
            x_format="%{x:.4g}",
        )  # fmt: skip
        fig.add_trace(
            go.Scatter(
                x=panel.best_x,
                y=panel.best_y,
                mode="lines",
                line={"color": BEST, "width": 2.5, "shape": "hv"},
                name="best so far",
                legendgroup="best so far",
                showlegend=col == 1,
                hovertemplate="best so far %{y:.4f}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.update_xaxes(title_text=panel.title, row=1, col=col)
    fig.update_yaxes(title_text=f"validation {run.score_name}", row=1, col=1)
    fig.update_layout(
        **LAYOUT,
        title=f"Optimization history ({info.n_scored} scored {who(run)}s; best so far in red)",
        height=420,
    )
    return fig
