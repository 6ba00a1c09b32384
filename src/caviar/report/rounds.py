"""Coarse-to-fine search rounds: each trial's score by round, and the values sampled
in each round (the box shrinking), log axes as in ``caviar.report.params``."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from caviar.report.params import axis_title, param_values
from caviar.report.style import BEST, LAYOUT, log_axis


class RoundsInfo(NamedTuple):
    """What the rounds figure draws: each scored trial's ``round`` and ``score`` (and
    ``ids``), the best score so far after each round (``best_rounds``, ``best``) and,
    per numeric hyperparameter, the round and plotted value of every sampled trial."""

    rounds: list[int]
    scores: list[float]
    ids: list[int]
    best_rounds: list[int]
    best: list[float]
    sampled: dict[str, tuple[list[int], list, str]]  # param -> (rounds, values, axis)


def rounds_info(run) -> RoundsInfo | None:
    """The rounds of a search; None when it has a single round."""
    if "round" not in run.trials.columns:
        return None
    r = pd.to_numeric(run.trials["round"], errors="coerce")
    if r.nunique() < 2:
        return None
    score = run.trials["val_score"].astype(float)
    ok = np.isfinite(score) & r.notna()
    rounds_ok = r[ok].astype(int)
    per_round = score[ok].groupby(rounds_ok).max().sort_index()
    has = r.notna().to_numpy()
    sampled = {}
    for p in (p for p in run.params if run.scales.get(p) != "categorical"):
        y, axis = param_values(run, p)
        sampled[p] = (
            r[has].astype(int).tolist(),
            [v for v, h in zip(y, has, strict=True) if h],
            axis,
        )
    return RoundsInfo(
        rounds_ok.tolist(),
        score[ok].tolist(),
        [int(i) for i in run.trials["id"][ok]],
        [int(i) for i in per_round.index],
        per_round.cummax().tolist(),
        sampled,
    )


def rounds(run, info: RoundsInfo | None = None) -> go.Figure | None:
    """Search rounds (coarse-to-fine narrows its box each round): the first panel shows
    each trial's validation score by round and the best so far; then one panel per
    numeric hyperparameter with the values sampled in each round (the box shrinking;
    log axes as in :func:`params_vs_score`). None when the run has a single round."""
    info = info if info is not None else rounds_info(run)
    if info is None:
        return None
    titles = ["validation score", *(axis_title(run, p) for p in info.sampled)]
    cols = min(3, len(titles))
    n_rows = math.ceil(len(titles) / cols)
    fig = make_subplots(
        rows=n_rows,
        cols=cols,
        subplot_titles=titles,
        horizontal_spacing=0.08,
        vertical_spacing=0.22 if n_rows > 1 else 0.1,
    )
    fig.add_trace(
        go.Scatter(
            x=info.rounds,
            y=info.scores,
            mode="markers",
            name="trial",
            marker={"color": "#1f77b4", "size": 8, "opacity": 0.6},
            text=[f"trial {i}" for i in info.ids],
            hovertemplate="%{text}<br>round %{x}<br>val %{y:.4f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    fig.add_trace(
        go.Scatter(
            x=info.best_rounds,
            y=info.best,
            mode="lines+markers",
            name="best so far",
            line={"color": BEST, "width": 2.5},
        ),
        row=1,
        col=1,
    )
    fig.update_yaxes(title_text=f"validation {run.score_name}", row=1, col=1)
    has = pd.to_numeric(run.trials["round"], errors="coerce").notna().to_numpy()
    for k, (x, y, axis) in enumerate(info.sampled.values(), start=1):
        row, col = k // cols + 1, k % cols + 1
        fig.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="markers",
                name="sampled value",
                legendgroup="sampled",
                showlegend=k == 1,
                marker={"color": "#8c8c8c", "size": 7, "opacity": 0.7},
                text=[f"trial {i}" for i in run.trials["id"][has]],
                hovertemplate="%{text}<br>round %{x}<br>%{y}<extra></extra>",
            ),
            row=row,
            col=col,
        )
        fig.update_yaxes(**(log_axis(y) if axis == "log" else {"type": axis}), row=row, col=col)
    fig.update_xaxes(title_text="round", dtick=1)
    fig.update_layout(
        **LAYOUT,
        title="Search rounds: validation score and sampled values per round",
        height=140 + 300 * n_rows,
    )
    return fig
