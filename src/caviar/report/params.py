"""Hyperparameters against the score: one panel per hyperparameter, parallel
coordinates, and contour maps of the most important pairs.

Scales follow the search space (``caviar.report.style``); seeds and choices are
categories. Parallel coordinates and contours work in the sampled space (log10 for
log-scaled knobs, log10(1 - x) for momentum-like ones) with ticks labelled in values.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from caviar.report.style import (
    BEST,
    LAYOUT,
    log_axis,
    log_ticks,
    short,
    status_points,
    tick_label,
    who,
)


def param_values(run, param: str) -> tuple[list, str]:
    """The plotted x values of ``param`` and the axis type (``log``, ``linear``, ``category``)."""
    scale = run.scales.get(param, "linear")
    col = run.trials[param]
    if scale == "categorical":
        return [str(v) for v in col], "category"
    x = pd.to_numeric(col, errors="coerce").astype(float)
    if scale == "one_minus_log":
        return (1.0 - x).tolist(), "log"
    return x.tolist(), "log" if scale == "log" else "linear"


def axis_title(run, param: str) -> str:
    scale = run.scales.get(param, "linear")
    name = short(param)
    if scale == "one_minus_log":
        return f"1 - {name} (log scale)"
    if scale == "log":
        return f"{name} (log scale)"
    return name


class ParamPanel(NamedTuple):
    """One hyperparameter's panel: its plotted values (one per trial), the axis type
    (``log``, ``linear`` or ``category``) and the axis title."""

    param: str
    x: list
    axis: str
    title: str


class ParamsInfo(NamedTuple):
    """What :func:`params_vs_score` draws: a panel per hyperparameter, every trial's
    score, which scores are finite, and the best trial's row (None without one)."""

    panels: list[ParamPanel]
    scores: list[float]
    finite: list[bool]
    best_row: int | None


def params_info(run) -> ParamsInfo:
    """The hyperparameters' values against the validation score (log axes from the space)."""
    score = run.trials["val_score"].astype(float)
    panels = [ParamPanel(p, *param_values(run, p), axis_title(run, p)) for p in run.params]
    best = run.best_id
    row = None
    if best is not None:
        row = int(np.flatnonzero(run.trials["id"].to_numpy() == best)[0])
    return ParamsInfo(panels, score.tolist(), np.isfinite(score.to_numpy()).tolist(), row)


def params_vs_score(run, info: ParamsInfo | None = None) -> go.Figure:
    """One panel per hyperparameter: its value against the validation score."""
    info = info if info is not None else params_info(run)
    n = len(info.panels)
    cols = min(3, max(n, 1))
    rows = max(1, math.ceil(n / cols))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[short(p.param) for p in info.panels] or ["(no hyperparameters varied)"],
        horizontal_spacing=0.08,
        vertical_spacing=0.22 if rows > 1 else 0.1,
    )
    best = run.best_id
    for k, panel in enumerate(info.panels):
        r, c = k // cols + 1, k % cols + 1
        status_points(fig, run, panel.x, np.array(info.finite), legend=k == 0, row=r, col=c)
        if info.best_row is not None:
            i = info.best_row
            fig.add_trace(
                go.Scatter(
                    x=[panel.x[i]],
                    y=[info.scores[i]],
                    mode="markers",
                    name=f"best ({who(run)} {best})",
                    legendgroup="best",
                    showlegend=k == 0,
                    marker={"color": BEST, "size": 14, "symbol": "star"},
                    hovertemplate=f"best {who(run)} {best}<br>%{{x}}<br>val %{{y:.4f}}"
                    "<extra></extra>",
                ),
                row=r,
                col=c,
            )
        settings = log_axis(panel.x) if panel.axis == "log" else {"type": panel.axis}
        fig.update_xaxes(title_text=panel.title, **settings, row=r, col=c)
        if c == 1:
            fig.update_yaxes(title_text=f"validation {run.score_name}", row=r, col=c)
    fig.update_layout(
        **LAYOUT,
        title=f"Hyperparameters against the validation {run.score_name}",
        height=140 + 300 * rows,
    )
    return fig


def sampled_space(run, param: str, frame: pd.DataFrame) -> dict:
    """``param`` of ``frame``'s rows in the sampled space: ``values``, and ``tickvals`` /
    ``ticktext`` that label that space in the knob's own values."""
    scale = run.scales.get(param, "linear")
    if scale == "categorical":
        cats = sorted({str(v) for v in run.trials[param]})
        return {
            "values": [cats.index(str(v)) for v in frame[param]],
            "tickvals": list(range(len(cats))),
            "ticktext": cats,
        }
    v = pd.to_numeric(frame[param], errors="coerce").astype(float)
    if scale not in ("log", "one_minus_log"):
        return {"values": v.tolist()}
    u = v if scale == "log" else 1 - v
    ticks = log_ticks(float(u.min()), float(u.max())) if len(u) else []
    text = [tick_label(t) if scale == "log" else tick_label(1 - t) for t in ticks]
    return {
        "values": np.log10(u).tolist(),
        "tickvals": [math.log10(t) for t in ticks],
        "ticktext": text,
    }


class ParallelInfo(NamedTuple):
    """What the parallel coordinates draw: one axis per hyperparameter (``label``,
    ``values`` in the sampled space, ``tickvals``/``ticktext``) and the scores."""

    dimensions: list[dict]
    scores: list[float]


def parallel_info(run) -> ParallelInfo:
    """The axes of every trial with a finite score (:func:`sampled_space`)."""
    ok = run.trials[np.isfinite(run.trials["val_score"].astype(float))]
    dims = [{"label": short(p), **sampled_space(run, p, ok)} for p in run.params]
    return ParallelInfo(dims, ok["val_score"].astype(float).tolist())


def parallel_coordinates(run, info: ParallelInfo | None = None) -> go.Figure:
    """Every trial with a finite score as one line across its hyperparameters and score,
    each axis labelled in the knob's values (log-scaled knobs spaced as sampled)."""
    info = info if info is not None else parallel_info(run)
    score = info.scores
    dims = [*info.dimensions, {"label": f"val {run.score_name}", "values": score}]
    fig = go.Figure(
        go.Parcoords(
            line={
                "color": score,
                "colorscale": "Viridis",
                "showscale": True,
                "colorbar": {"title": {"text": f"val {run.score_name}"}},
            },
            dimensions=dims,
        )
    )
    layout = {**LAYOUT, "margin": {"l": 70, "r": 40, "t": 110, "b": 40}}
    fig.update_layout(
        **layout, title="Parallel coordinates (trials with a validation score)", height=460
    )
    return fig


class ContourPanel(NamedTuple):
    """One pair ``(a, b)``: the scored trials in the sampled space (``x``, ``y``), the
    interpolated ``grid`` (40 x 40 over ``grid_x`` x ``grid_y``; None when the points
    span no area) and each axis's ``tickvals``/``ticktext``."""

    a: str
    b: str
    x: list[float]
    y: list[float]
    grid_x: list[float]
    grid_y: list[float]
    grid: list | None
    ticks_a: dict
    ticks_b: dict


class ContourInfo(NamedTuple):
    """The panels of the contour figure, the scores and trial ids of its points."""

    panels: list[ContourPanel]
    scores: list[float]
    ids: list[int]


def contour_info(run, order: list[str] | None = None, top: int = 3) -> ContourInfo | None:
    """Linear interpolation of the validation score between the scored trials, over the
    pairs of the ``top`` first of ``order`` (most important first; default the space's
    order); None with fewer than two hyperparameters or three scored trials."""
    from scipy.interpolate import griddata

    ok = run.trials[np.isfinite(run.trials["val_score"].astype(float))]
    params = [p for p in (order or run.params) if p in run.params][:top]
    if len(params) < 2 or len(ok) < 3:
        return None
    z = ok["val_score"].astype(float).to_numpy()
    panels = []
    for a, b in combinations(params, 2):
        xa, xb = sampled_space(run, a, ok), sampled_space(run, b, ok)
        x, y = np.asarray(xa["values"], float), np.asarray(xb["values"], float)
        gx: Any = []
        gy: Any = []
        grid = None
        if np.ptp(x) > 0 and np.ptp(y) > 0:
            gx, gy = np.linspace(x.min(), x.max(), 40), np.linspace(y.min(), y.max(), 40)
            try:
                grid = griddata((x, y), z, tuple(np.meshgrid(gx, gy)), method="linear").tolist()
            except Exception:  # noqa: BLE001 - collinear points: the points alone
                grid = None
        ticks = [{k: d[k] for k in ("tickvals", "ticktext") if k in d} for d in (xa, xb)]
        panels.append(ContourPanel(a, b, x.tolist(), y.tolist(), list(gx), list(gy), grid, *ticks))
    return ContourInfo(panels, z.tolist(), [int(i) for i in ok["id"]])


def contours(
    run, order: list[str] | None = None, top: int = 3, info: ContourInfo | None = None
) -> go.Figure | None:
    """Contour maps of the validation score over the pairs of the ``top`` most important
    hyperparameters (``order``: most important first, passed explicitly; default the
    space's order): :func:`contour_info`, drawn with the scored trials as points. None
    with fewer than two hyperparameters or three scored trials."""
    info = info if info is not None else contour_info(run, order, top)
    if info is None:
        return None
    fig = make_subplots(
        rows=1,
        cols=len(info.panels),
        subplot_titles=[f"{short(p.a)} and {short(p.b)}" for p in info.panels],
        horizontal_spacing=0.1,
    )
    for k, p in enumerate(info.panels, start=1):
        if p.grid is not None:
            fig.add_trace(
                go.Contour(
                    x=p.grid_x,
                    y=p.grid_y,
                    z=p.grid,
                    colorscale="Viridis",
                    showscale=k == 1,
                    colorbar={"title": {"text": f"val {run.score_name}"}},
                    contours={"coloring": "heatmap"},
                    hoverinfo="skip",
                    connectgaps=False,
                ),
                row=1,
                col=k,
            )
        fig.add_trace(
            go.Scatter(
                x=p.x,
                y=p.y,
                mode="markers",
                marker={"color": "#222", "size": 6, "line": {"color": "#fff", "width": 1}},
                name="scored trial",
                showlegend=False,  # the points are the trials (hover names them)
                text=[
                    f"{who(run)} {i}: val {s:.4f}"
                    for i, s in zip(info.ids, info.scores, strict=True)
                ],
                hovertemplate="%{text}<extra></extra>",
            ),
            row=1,
            col=k,
        )
        for axis, ticks, name in (
            (fig.update_xaxes, p.ticks_a, p.a),
            (fig.update_yaxes, p.ticks_b, p.b),
        ):
            logged = run.scales.get(name) in ("log", "one_minus_log")
            axis(
                title_text=short(name) + (" (log spaced)" if logged else ""), **ticks, row=1, col=k
            )
    fig.update_layout(
        **LAYOUT,
        title=f"Validation {run.score_name} over the most important pairs of hyperparameters",
        height=440,
    )
    return fig
