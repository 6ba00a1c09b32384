"""Learning curves: loss (log axis) and score per epoch, one line per trial or member.

Every member is drawn in the style of its status (``caviar.report.style``), the best
last (on top). The loss axes cover the members that did not diverge (a diverged
member's loss of 1e30 would flatten every other curve; it leaves the chart
upwards), padded so that epoch 1 is never on the frame.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from caviar.report.style import BEST, LAYOUT, log_axis, positive, style, who


def _draw(run, fig: go.Figure, metrics: tuple[str, str], log: bool) -> None:
    best = run.best_id
    status = dict(zip(run.trials["id"], run.trials["status"], strict=False))
    shown: set[str] = set()
    ids = [i for i in run.trials["id"] if i != best] + ([best] if best is not None else [])
    groups = dict(tuple(run.curves.groupby("id"))) if not run.curves.empty else {}
    for tid in ids:
        c = groups.get(tid)
        if c is None or c.empty:
            continue
        name, colour, dash, width, opacity = style(status.get(tid))
        if tid == best:
            name, colour, dash, width, opacity = f"best ({who(run)} {tid})", BEST, "solid", 3.0, 1.0
        for col, metric in enumerate(metrics, start=1):
            y = positive(c[metric]) if log else c[metric].astype(float).tolist()
            fig.add_trace(
                go.Scatter(
                    x=c["epoch"].tolist(),
                    y=y,
                    mode="lines",
                    name=name,
                    legendgroup=name,
                    showlegend=name not in shown,
                    line={"color": colour, "dash": dash, "width": width},
                    opacity=opacity,
                    hovertemplate=f"{who(run)} {tid}<br>epoch %{{x}}<br>{metric} %{{y:.4g}}"
                    "<extra></extra>",
                ),
                row=1,
                col=col,
            )
            shown.add(name)
    epochs = run.curves["epoch"].max() if not run.curves.empty else 1
    fig.update_xaxes(title_text="epoch", range=[0.5, float(epochs) + 0.5])


def _kept(run, metric: str) -> list[float]:
    """Values of ``metric`` of the members that did not diverge or fail."""
    bad = run.trials["id"][run.trials["status"].isin(["diverged", "failed"])]
    v = run.curves.loc[~run.curves["id"].isin(bad), metric].astype(float)
    return v[np.isfinite(v)].tolist()


def learning_curves(run) -> go.Figure:
    """Training and validation loss per epoch (log axes), one line per member in each."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("training loss", "validation loss"), horizontal_spacing=0.08
    )
    _draw(run, fig, ("train_loss", "val_loss"), log=True)
    for col, metric in ((1, "train_loss"), (2, "val_loss")):
        fig.update_yaxes(**log_axis(_kept(run, metric) if not run.curves.empty else []), col=col)
    fig.update_yaxes(title_text="loss (log scale)", col=1)
    diverged = run.trials["status"].isin(["diverged", "failed"]).any()
    title = (
        "Loss curves (best highlighted; diverged members leave the chart)"
        if diverged
        else "Loss curves (every member; best highlighted)"
    )
    fig.update_layout(**LAYOUT, title=title, height=420)
    return fig


def score_curves(run) -> go.Figure:
    """Training and validation score (accuracy or R^2) per epoch, beside the losses."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(f"training {run.score_name}", f"validation {run.score_name}"),
        horizontal_spacing=0.08,
    )
    _draw(run, fig, ("train_score", "val_score"), log=False)
    for col, metric in ((1, "train_score"), (2, "val_score")):
        v = _kept(run, metric) if not run.curves.empty else []
        if v:
            lo, hi = min(v), max(v)
            pad = max(0.04 * (hi - lo), 0.005)
            fig.update_yaxes(range=[lo - pad, hi + pad], row=1, col=col)
    fig.update_yaxes(title_text=run.score_name, col=1)
    fig.update_layout(**LAYOUT, title=f"{run.score_name.capitalize()} curves", height=420)
    return fig
