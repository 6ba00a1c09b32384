"""Optimization history: each trial's validation score and the best so far, against
the trial (caviar's trial index: the order the search suggested them) and against
wall time (when each trial ended, seconds after the search's first trial started).

As Optuna's ``plot_optimization_history`` but over every scored trial (pruned ones at
their best epoch's score, the weights they end with), coloured by status.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from caviar.report.style import BEST, LAYOUT, status_points, who


def optimization_history(run) -> go.Figure | None:
    """Two panels (by trial, by wall time); None without a scored trial. Train runs
    (no times) get the first panel only."""
    t = run.trials
    score = t["val_score"].astype(float)
    ok = np.isfinite(score.to_numpy())
    if not ok.any():
        return None
    timed = "end" in t.columns and np.isfinite(t["end"].astype(float)).any()
    fig = make_subplots(
        rows=1,
        cols=2 if timed else 1,
        subplot_titles=("by trial", "by wall time") if timed else ("by trial",),
        horizontal_spacing=0.1,
    )
    axes = [("id", who(run), 1)] + (
        [("end", "seconds since the first trial started", 2)] if timed else []
    )
    for x_col, x_title, col in axes:
        x = t[x_col].astype(float)
        status_points(
            fig,
            run,
            x.tolist(),
            ok & np.isfinite(x.to_numpy()),
            legend=col == 1,
            row=1,
            col=col,
            size=7,
            x_format="%{x:.4g}",
        )
        order = pd.DataFrame({"x": x[ok], "y": score[ok]}).dropna().sort_values("x", kind="stable")
        fig.add_trace(
            go.Scatter(
                x=order["x"].tolist(),
                y=order["y"].cummax().tolist(),
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
        fig.update_xaxes(title_text=x_title, row=1, col=col)
    fig.update_yaxes(title_text=f"validation {run.score_name}", row=1, col=1)
    n = int(ok.sum())
    fig.update_layout(
        **LAYOUT,
        title=f"Optimization history ({n} scored {who(run)}s; best so far in red)",
        height=420,
    )
    return fig
