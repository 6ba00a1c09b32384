"""Figures of a ``caviar diagnose`` report: gradient norms per layer and the
learning-rate range test (with "no clear minimum" when the curve is flat)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from caviar.report.style import BEST, LAYOUT, log_axis, positive

#: the range test's curve is "flat" when its minimum is less than this fraction below
#: its first (smallest-rate) loss: no rate there is better than another
FLAT_DROP = 0.1


def gradient_norms(report: dict) -> go.Figure | None:
    """Per-layer weight-gradient norms per epoch from a diagnose report (log y)."""
    g = report.get("gradient_norms") or {}
    per_epoch = g.get("per_epoch") or []
    if not per_epoch:
        return None
    fig = go.Figure()
    for name, series in zip(g.get("layers") or [], per_epoch, strict=False):
        fig.add_trace(
            go.Scatter(
                x=list(range(1, len(series) + 1)),
                y=positive(pd.Series(series, dtype=float)),
                mode="lines+markers",
                name=name,
            )
        )
    fig.update_layout(
        **LAYOUT,
        title="Gradient norm per layer (mean over each epoch's steps)",
        height=380,
        xaxis={"title": {"text": "epoch"}, "dtick": 1 if len(per_epoch[0]) <= 20 else None},
        yaxis={
            "title": {"text": "||dL/dW|| (log scale)"},
            **log_axis(
                [v for series in per_epoch for v in positive(pd.Series(series, dtype=float))]
            ),
        },
    )
    return fig


def is_flat(losses: list[float]) -> bool:
    """Whether a range test's smoothed loss never drops :data:`FLAT_DROP` below its
    first value: then the test shows no clear minimum and suggests no rate."""
    v = [x for x in losses if x is not None and x == x]
    return len(v) < 2 or v[0] <= 0 or (v[0] - min(v)) < FLAT_DROP * abs(v[0])


def lr_range(report: dict) -> go.Figure | None:
    """The learning-rate range test: smoothed loss against the rate (log x), with the
    suggested rates, or "no clear minimum" when the curve is flat (:func:`is_flat`)."""
    lr = report.get("lr_range_test") or {}
    if not lr.get("applicable") or not lr.get("lrs"):
        return None
    fig = go.Figure(
        go.Scatter(
            x=lr["lrs"],
            y=lr["losses"],
            mode="lines",
            name="smoothed loss",
            line={"color": "#1f77b4", "width": 2},
        )
    )
    flat = is_flat(lr["losses"])
    for key, label, colour in (
        ("suggested_lr", "suggested (steepest descent)", BEST),
        ("min_loss_lr", "min-loss rate / 10", "#2ca02c"),
    ):
        v = lr.get(key)
        if v and not flat:
            fig.add_trace(
                go.Scatter(
                    x=[v, v],
                    y=[min(lr["losses"]), max(lr["losses"])],
                    mode="lines",
                    name=f"{label}: {v:.3g}",
                    line={"color": colour, "dash": "dash"},
                )
            )
    title = "Learning-rate range test"
    if flat:
        title += (
            f" — no clear minimum (the loss falls less than {FLAT_DROP:.0%}; no rate suggested)"
        )
    fig.update_layout(
        **LAYOUT,
        title=title,
        height=380,
        xaxis={"title": {"text": "learning rate (log scale)"}, **log_axis(lr["lrs"])},
        yaxis_title="smoothed training loss",
    )
    return fig
