"""Best-so-far curves of a search against wall time, and their plot (plotly, offline HTML).

Used by ``benchmarks/search_anytime.py``: a curve is a list of ``(seconds, value)``
points sorted by time, read as a step function (the value holds until the next point).
"""

from __future__ import annotations

import math
from pathlib import Path


def running_max(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """``(t, score)`` points sorted by time -> the best score so far at each point."""
    out, best = [], -math.inf
    for t, s in sorted(points):
        if math.isfinite(s) and s > best:
            best = s
        out.append((t, best))
    return out


def value_at(curve: list[tuple[float, float]], t: float, start: float = -math.inf) -> float:
    """A step curve's value at time ``t`` (``start`` before its first point)."""
    value = start
    for tc, v in curve:
        if tc > t:
            break
        value = v
    return value


def in_whole_rows(curve: list[tuple[float, float]], n_val: int) -> list[tuple[float, float]]:
    """Accuracies as whole validation rows over ``n_val`` (caviar's float32 and
    scikit-learn's float64 give the same count different last digits)."""
    return [(t, round(v * n_val) / n_val if math.isfinite(v) else v) for t, v in curve]


def best_at(run: dict, t: float) -> float | None:
    """The best validation score ``run`` had by time ``t`` (None: none yet)."""
    best = value_at(run["best_curve"], t, -math.inf)
    return best if math.isfinite(best) else None


def plot(runs: dict[str, list[dict]], t_peer: float, path: Path) -> None:
    """Best-so-far validation accuracy and configurations evaluated against wall time."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        subplot_titles=("best validation accuracy so far", "configurations evaluated"),
    )
    colors = {"caviar": "#1f77b4", "sklearn": "#ff7f0e"}
    for name, rs in runs.items():
        for k, r in enumerate(rs):
            for row, key in ((1, "best_curve"), (2, "evaluated_curve")):
                t, v = zip(*r[key], strict=True) if r[key] else ((), ())
                fig.add_trace(
                    go.Scatter(
                        x=list(t),
                        y=list(v),
                        mode="lines+markers",
                        line={"shape": "hv", "color": colors.get(name)},
                        name=f"{name} run {k + 1}",
                        legendgroup=f"{name}{k}",
                        showlegend=row == 1,
                    ),
                    row=row,
                    col=1,
                )
    fig.add_vline(x=t_peer, line_dash="dash", annotation_text="scikit-learn's 64 done")
    fig.update_xaxes(title_text="wall time (s)", row=2, col=1)
    fig.update_yaxes(type="log", row=2, col=1)
    fig.update_layout(title="Search quality per second (benchmarks/search_anytime.py)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".html.tmp")
    fig.write_html(tmp, include_plotlyjs=True)
    tmp.replace(path)
