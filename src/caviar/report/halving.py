"""Successive halving's rungs: how many trials were still training at each epoch, and
each trial's validation score against the epochs it ran (pruned trials stop at a rung;
the survivors run on). Drawn when some trial was pruned or stopped early.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from caviar.report.style import LAYOUT, status_points, who


class HalvingInfo(NamedTuple):
    """``epochs`` 1..the longest run and ``training`` the number of trials that ran at
    least that many epochs; ``stops``: the epochs where some trial stopped, with how many
    stopped there (the rungs)."""

    epochs: list[int]
    training: list[int]
    stops: dict[int, int]


def halving_info(run) -> HalvingInfo | None:
    """The rungs of a run; None when every trial ran the same number of epochs."""
    if "epochs_run" not in run.trials.columns or run.trials.empty:
        return None
    ran = run.trials["epochs_run"].astype(float).fillna(0).astype(int).to_numpy()
    if len(set(ran.tolist())) < 2:
        return None
    epochs = list(range(1, int(ran.max()) + 1))
    training = [int((ran >= e).sum()) for e in epochs]
    stops = {int(e): int((ran == e).sum()) for e in sorted(set(ran.tolist())) if e < ran.max()}
    return HalvingInfo(epochs, training, stops)


def halving(run, info: HalvingInfo | None = None) -> go.Figure | None:
    """Two panels: trials still training per epoch (a step line, rungs marked), and each
    trial's validation score against the epochs it ran; None without rungs."""
    info = info if info is not None else halving_info(run)
    if info is None:
        return None
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(f"{who(run)}s still training", "score against epochs run"),
        horizontal_spacing=0.1,
    )
    fig.add_trace(
        go.Scatter(
            x=info.epochs,
            y=info.training,
            mode="lines",
            line={"shape": "hv", "color": "#1f77b4", "width": 2.5},
            name="training",
            hovertemplate="epoch %{x}: %{y} training<extra></extra>",
        ),
        row=1,
        col=1,
    )
    for epoch, n in info.stops.items():
        fig.add_vline(x=epoch, line={"color": "#999", "dash": "dot"}, row=1, col=1)
        fig.add_annotation(x=epoch, y=max(info.training), text=f"{n} stopped", row=1, col=1)
    score = run.trials["val_score"].astype(float).to_numpy()
    x = run.trials["epochs_run"].astype(float).tolist()
    status_points(fig, run, x, np.isfinite(score), legend=True, row=1, col=2)
    fig.update_xaxes(title_text="epoch", row=1, col=1)
    fig.update_xaxes(title_text="epochs run", row=1, col=2)
    fig.update_yaxes(title_text=f"{who(run)}s", row=1, col=1)
    fig.update_yaxes(title_text=f"validation {run.score_name}", row=1, col=2)
    fig.update_layout(**LAYOUT, title="Halving: rungs and the trials they stopped", height=420)
    return fig


__all__ = ["HalvingInfo", "halving", "halving_info"]
