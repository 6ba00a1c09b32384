"""Coarse-to-fine search rounds: each trial's score by round, and the values sampled
in each round (the box shrinking), log axes as in ``caviar.report.params``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from caviar.report.params import axis_title, param_values
from caviar.report.style import BEST, LAYOUT, log_axis


def rounds(run) -> go.Figure | None:
    """Search rounds (coarse-to-fine narrows its box each round): the first panel shows
    each trial's validation score by round and the best so far; then one panel per
    numeric hyperparameter with the values sampled in each round (the box shrinking;
    log axes as in :func:`params_vs_score`). None when the run has a single round."""
    if "round" not in run.trials.columns:
        return None
    r = pd.to_numeric(run.trials["round"], errors="coerce")
    if r.nunique() < 2:
        return None
    numeric = [p for p in run.params if run.scales.get(p) != "categorical"]
    titles = ["validation score", *(axis_title(run, p) for p in numeric)]
    cols = min(3, len(titles))
    n_rows = math.ceil(len(titles) / cols)
    fig = make_subplots(
        rows=n_rows,
        cols=cols,
        subplot_titles=titles,
        horizontal_spacing=0.08,
        vertical_spacing=0.22 if n_rows > 1 else 0.1,
    )
    score = run.trials["val_score"].astype(float)
    ok = np.isfinite(score) & r.notna()
    rounds_ok = r[ok].astype(int)
    fig.add_trace(
        go.Scatter(
            x=rounds_ok.tolist(),
            y=score[ok].tolist(),
            mode="markers",
            name="trial",
            marker={"color": "#1f77b4", "size": 8, "opacity": 0.6},
            text=[f"trial {i}" for i in run.trials["id"][ok]],
            hovertemplate="%{text}<br>round %{x}<br>val %{y:.4f}<extra></extra>",
        ),
        row=1,
        col=1,
    )
    per_round = score[ok].groupby(rounds_ok).max().sort_index()
    fig.add_trace(
        go.Scatter(
            x=per_round.index.tolist(),
            y=per_round.cummax().tolist(),
            mode="lines+markers",
            name="best so far",
            line={"color": BEST, "width": 2.5},
        ),
        row=1,
        col=1,
    )
    fig.update_yaxes(title_text=f"validation {run.score_name}", row=1, col=1)
    has = r.notna().to_numpy()
    for k, p in enumerate(numeric, start=1):
        row, col = k // cols + 1, k % cols + 1
        y, axis = param_values(run, p)
        fig.add_trace(
            go.Scatter(
                x=r[has].astype(int).tolist(),
                y=[v for v, h in zip(y, has, strict=True) if h],
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
