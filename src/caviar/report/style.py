"""The report's shared look: status styles, layout, labels and clean log axes.

Conventions: the best trial (rank 1 with a finite validation score) is drawn thick
and red; complete trials thin blue; early-stopped ones (patience ran out) thin
green; converged ones (a full-batch method's stopping rule met) thin purple; pruned
ones grey dashed; diverged and failed ones orange dotted.
Log-scaled search dimensions (``log_uniform``, ``int_log_uniform``) get a log axis;
``one_minus_log_uniform`` ones (momentum-like, :ref:`bg-search-scales`) are drawn as ``1 - x`` on a
log axis, the space the search samples in. A log axis is labelled in values at
1-2-5 steps (or powers of ten over many decades), never with bare minor digits.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

BEST = "#d62728"
STYLE = {  # status -> (legend name, colour, dash, width, opacity)
    "complete": ("complete", "#1f77b4", "solid", 1.2, 0.55),
    "early_stopped": ("early-stopped", "#2ca02c", "solid", 1.2, 0.55),
    "converged": ("converged", "#9467bd", "solid", 1.2, 0.55),
    "pruned": ("pruned", "#8c8c8c", "dash", 1.0, 0.6),
    "diverged": ("diverged / failed", "#ff7f0e", "dot", 1.0, 0.8),
    "failed": ("diverged / failed", "#ff7f0e", "dot", 1.0, 0.8),
}
MARKERS = {
    "complete": "#1f77b4",
    "early-stopped": "#2ca02c",
    "converged": "#9467bd",
    "pruned": "#8c8c8c",
    "diverged / failed": "#ff7f0e",
}
LAYOUT = {
    "template": "plotly_white",
    "font": {"family": "Helvetica, Arial, sans-serif", "size": 12},
    "margin": {"l": 70, "r": 30, "t": 80, "b": 60},
    "title_font": {"size": 16},
    "title_x": 0.01,
    "legend": {"orientation": "v", "yanchor": "top", "y": 1.0, "x": 1.02},
}


def style(status: Any) -> tuple[str, str, str, float, float]:
    return STYLE.get(str(status), STYLE["failed"])


def who(run) -> str:
    """What a row is: a trial of a search or a member of a train run."""
    return "trial" if run.kind == "tune" else "member"


def short(param: str) -> str:
    """Axis label of a dotted config path: its last component (``optimizer.lr`` -> lr)."""
    return param.rsplit(".", 1)[-1]


def positive(values: pd.Series) -> list[float | None]:
    """Finite positive values for a log axis; others (NaN, inf, <= 0) become gaps."""
    out = []
    for v in pd.Series(values).astype(float):
        out.append(float(v) if math.isfinite(v) and v > 0 else None)
    return out


def tick_label(v: float) -> str:
    """A tick value as people write it: 0.002, 0.5, 20, 1e-05, 3e+04."""
    if 1e-3 <= abs(v) < 1e4:
        return f"{v:.4g}"
    mantissa, exponent = f"{v:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def log_ticks(lo: float, hi: float, most: int = 5) -> list[float]:
    """Tick values for a log axis spanning ``[lo, hi]`` (positive): powers of ten over
    more than three decades, else the first of 1-2-5, 1-2-3-5 and 1..9 steps that gives
    three ticks; no more than ``most`` of them (every other one of a longer 1..9 run;
    ``2 most - 2`` powers of ten), so that a small panel's labels never overlap."""
    if not (lo > 0 and hi > 0 and math.isfinite(lo) and math.isfinite(hi)):
        return []
    lo, hi = min(lo, hi), max(lo, hi)
    first, last = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    steps = ((1,), (1, 2, 5), (1, 2, 3, 5), tuple(range(1, 10)))
    for mantissas in steps:
        if mantissas == (1,) and last - first <= 3:
            continue
        ticks = [
            m * 10.0**e
            for e in range(first, last + 1)
            for m in mantissas
            if lo / 1.0001 <= m * 10.0**e <= hi * 1.0001
        ]
        if len(ticks) >= 3 or (len(ticks) == 2 and mantissas == steps[-1]):
            while len(ticks) > (most if mantissas != (1,) else 2 * most - 2):
                ticks = ticks[::2]
            return ticks
    return [lo, hi] if hi > lo else [lo]


def log_axis(values, pad: float = 0.05) -> dict[str, Any]:
    """Plotly settings of a clean log axis for ``values`` (non-positive ones ignored):
    its range padded by ``pad`` of its span (at least 0.05 decade) so that no point sits
    on the frame, and ticks from :func:`log_ticks` labelled in values."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return {"type": "log"}
    lo, hi = float(v.min()), float(v.max())
    span = math.log10(hi) - math.log10(lo)
    margin = max(pad * span, 0.05)
    ticks = log_ticks(lo, hi)
    return {
        "type": "log",
        "range": [math.log10(lo) - margin, math.log10(hi) + margin],
        "tickvals": ticks,
        "ticktext": [tick_label(t) for t in ticks],
    }


def status_points(
    fig: go.Figure,
    run,
    x: list,
    ok: np.ndarray,
    *,
    legend: bool,
    row: int,
    col: int,
    size: int = 8,
    x_format: str = "%{x}",
) -> None:
    """One marker trace per status (legend names of :data:`MARKERS`) of the rows where
    ``ok``: ``x`` against the validation score, hover naming the trial."""
    score = run.trials["val_score"].astype(float)
    labels = run.trials["status"].map(lambda s: style(s)[0]).to_numpy()
    for label, colour in MARKERS.items():
        mask = ok & (labels == label)
        if not mask.any():
            continue
        fig.add_trace(
            go.Scatter(
                x=[v for v, m in zip(x, mask, strict=True) if m],
                y=score[mask].tolist(),
                mode="markers",
                name=label,
                legendgroup=label,
                showlegend=legend,
                marker={"color": colour, "size": size, "opacity": 0.75},
                text=[f"{who(run)} {i}" for i in run.trials["id"][mask]],
                hovertemplate=f"%{{text}}<br>{x_format}<br>val %{{y:.4f}}<extra></extra>",
            ),
            row=row,
            col=col,
        )
