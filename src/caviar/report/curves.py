"""Learning curves: loss (log axis) and score per epoch, one line per trial or member.

Every member is drawn in the style of its status (``caviar.report.style``), the best
last (on top). The loss axes cover the members that did not diverge (a diverged
member's loss of 1e30 would flatten every other curve; it leaves the chart
upwards), padded so that epoch 1 is never on the frame.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from caviar.report.style import BEST, LAYOUT, log_axis, positive, style, who


class CurveLine(NamedTuple):
    """One trial's (or member's) curves: its id, legend name, line style, whether it is
    the best, its epochs and the values of each metric (NaN where missing)."""

    id: int
    name: str
    colour: str
    dash: str
    width: float
    opacity: float
    best: bool
    epochs: list[int]
    values: dict[str, list[float]]


class CurvesInfo(NamedTuple):
    """What a curves figure draws: the lines (the best last, on top), the last epoch,
    each metric's values over the members that did not diverge or fail (the axis
    ranges) and whether any member diverged."""

    lines: list[CurveLine]
    last_epoch: int
    kept: dict[str, list[float]]
    diverged: bool


METRICS = ("train_loss", "val_loss", "train_score", "val_score")


def curves_info(run) -> CurvesInfo:
    """Every trial's per-epoch curves in its status style (:mod:`caviar.report.style`)."""
    best = run.best_id
    status = dict(zip(run.trials["id"], run.trials["status"], strict=False))
    ids = [i for i in run.trials["id"] if i != best] + ([best] if best is not None else [])
    groups = dict(tuple(run.curves.groupby("id"))) if not run.curves.empty else {}
    lines = []
    for tid in ids:
        c = groups.get(tid)
        if c is None or c.empty:
            continue
        name, colour, dash, width, opacity = style(status.get(tid))
        if tid == best:
            name, colour, dash, width, opacity = f"best ({who(run)} {tid})", BEST, "solid", 3.0, 1.0
        values = {m: c[m].astype(float).tolist() for m in METRICS if m in c}
        lines.append(
            CurveLine(int(tid), name, colour, dash, width, opacity, tid == best,
                      c["epoch"].astype(int).tolist(), values)
        )  # fmt: skip
    last = int(run.curves["epoch"].max()) if not run.curves.empty else 1
    kept = {m: _kept(run, m) if not run.curves.empty else [] for m in METRICS}
    diverged = bool(run.trials["status"].isin(["diverged", "failed"]).any())
    return CurvesInfo(lines, last, kept, diverged)


def _draw(info: CurvesInfo, run, fig: go.Figure, metrics: tuple[str, str], log: bool) -> None:
    shown: set[str] = set()
    for line in info.lines:
        for col, metric in enumerate(metrics, start=1):
            raw = line.values.get(metric, [])
            y = positive(pd.Series(raw, dtype=float)) if log else raw
            fig.add_trace(
                go.Scatter(
                    x=line.epochs,
                    y=y,
                    mode="lines",
                    name=line.name,
                    legendgroup=line.name,
                    showlegend=line.name not in shown,
                    line={"color": line.colour, "dash": line.dash, "width": line.width},
                    opacity=line.opacity,
                    hovertemplate=f"{who(run)} {line.id}<br>epoch %{{x}}<br>{metric} %{{y:.4g}}"
                    "<extra></extra>",
                ),
                row=1,
                col=col,
            )
            shown.add(line.name)
    fig.update_xaxes(title_text="epoch", range=[0.5, float(info.last_epoch) + 0.5])


def _kept(run, metric: str) -> list[float]:
    """Values of ``metric`` of the members that did not diverge or fail."""
    bad = run.trials["id"][run.trials["status"].isin(["diverged", "failed"])]
    v = run.curves.loc[~run.curves["id"].isin(bad), metric].astype(float)
    return v[np.isfinite(v)].tolist()


def learning_curves(run, info: CurvesInfo | None = None) -> go.Figure:
    """Training and validation loss per epoch (log axes), one line per member in each."""
    info = info if info is not None else curves_info(run)
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("training loss", "validation loss"), horizontal_spacing=0.08
    )
    _draw(info, run, fig, ("train_loss", "val_loss"), log=True)
    for col, metric in ((1, "train_loss"), (2, "val_loss")):
        fig.update_yaxes(**log_axis(info.kept[metric]), col=col)
    fig.update_yaxes(title_text="loss (log scale)", col=1)
    title = (
        "Loss curves (best highlighted; diverged members leave the chart)"
        if info.diverged
        else "Loss curves (every member; best highlighted)"
    )
    fig.update_layout(**LAYOUT, title=title, height=420)
    return fig


def score_curves(run, info: CurvesInfo | None = None) -> go.Figure:
    """Training and validation score (accuracy or R^2) per epoch, beside the losses."""
    info = info if info is not None else curves_info(run)
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(f"training {run.score_name}", f"validation {run.score_name}"),
        horizontal_spacing=0.08,
    )
    _draw(info, run, fig, ("train_score", "val_score"), log=False)
    for col, metric in ((1, "train_score"), (2, "val_score")):
        v = info.kept[metric]
        if v:
            lo, hi = min(v), max(v)
            pad = max(0.04 * (hi - lo), 0.005)
            fig.update_yaxes(range=[lo - pad, hi + pad], row=1, col=col)
    fig.update_yaxes(title_text=run.score_name, col=1)
    fig.update_layout(**LAYOUT, title=f"{run.score_name.capitalize()} curves", height=420)
    return fig
