"""One plotly figure per report section (each function takes a :class:`RunData`).

Conventions: the best trial (rank 1 with a finite validation score) is drawn
thick and coloured; complete and early-stopped trials thin blue; pruned trials
grey dashed; diverged and failed trials orange dotted. Log-scaled search
dimensions (``log_uniform``, ``int_log_uniform``) get a log x axis;
``one_minus_log_uniform`` ones (momentum-like, seed 001) are drawn as ``1 - x``
on a log axis, the space the search samples in.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from caviar.report.data import RunData

BEST = "#d62728"
MIN_COMPLETE = 3  # fewer complete trials than this: no importance (fANOVA would say 1.0)
STYLE = {  # status -> (legend name, colour, dash, width, opacity)
    "complete": ("complete", "#1f77b4", "solid", 1.2, 0.55),
    "early_stopped": ("complete", "#1f77b4", "solid", 1.2, 0.55),
    "pruned": ("pruned", "#8c8c8c", "dash", 1.0, 0.6),
    "diverged": ("diverged / failed", "#ff7f0e", "dot", 1.0, 0.8),
    "failed": ("diverged / failed", "#ff7f0e", "dot", 1.0, 0.8),
}
MARKERS = {"complete": "#1f77b4", "pruned": "#8c8c8c", "diverged / failed": "#ff7f0e"}
LAYOUT = {
    "template": "plotly_white",
    "font": {"family": "Helvetica, Arial, sans-serif", "size": 12},
    "margin": {"l": 70, "r": 30, "t": 80, "b": 60},
    "title_font": {"size": 16},
    "title_x": 0.01,
    "legend": {"orientation": "v", "yanchor": "top", "y": 1.0, "x": 1.02},
}


def _style(status: Any) -> tuple[str, str, str, float, float]:
    return STYLE.get(str(status), STYLE["failed"])


def who(run: RunData) -> str:
    """What a row is: a trial of a search or a member of a train run."""
    return "trial" if run.kind == "tune" else "member"


def short(param: str) -> str:
    """Axis label of a dotted config path: its last component (``optimizer.lr`` -> lr)."""
    return param.rsplit(".", 1)[-1]


def learning_curves(run: RunData) -> go.Figure:
    """Training and validation loss per epoch, one line per member in each panel."""
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=("training loss", "validation loss"), horizontal_spacing=0.08
    )
    best = run.best_id
    status = dict(zip(run.trials["id"], run.trials["status"], strict=False))
    shown: set[str] = set()
    ids = [i for i in run.trials["id"] if i != best] + ([best] if best is not None else [])
    groups = dict(tuple(run.curves.groupby("id"))) if not run.curves.empty else {}
    for tid in ids:
        c = groups.get(tid)
        if c is None or c.empty:
            continue
        name, colour, dash, width, opacity = _style(status.get(tid))
        if tid == best:
            name, colour, dash, width, opacity = f"best ({who(run)} {tid})", BEST, "solid", 3.0, 1.0
        for col, metric in ((1, "train_loss"), (2, "val_loss")):
            y = _positive(c[metric])
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
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="loss (log scale)", type="log", col=1)
    fig.update_yaxes(type="log", col=2)
    title = "Learning curves (every member; best highlighted)"
    for col, metric in ((1, "train_loss"), (2, "val_loss")):
        span = loss_range(run, metric)
        if span is not None:
            fig.update_yaxes(range=span, row=1, col=col)
            title = "Learning curves (best highlighted; diverged members leave the chart)"
    fig.update_layout(**LAYOUT, title=title, height=440)
    return fig


def loss_range(run: RunData, metric: str) -> list[float] | None:
    """log10 y range covering the members that did not diverge (a diverged member's
    loss of 1e30 would flatten every other curve); it leaves the chart upwards."""
    bad = run.trials["id"][run.trials["status"].isin(["diverged", "failed"])]
    if bad.empty or run.curves.empty:
        return None
    v = run.curves.loc[~run.curves["id"].isin(bad), metric].astype(float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.empty:
        return None
    return [math.log10(v.min()) - 0.1, math.log10(v.max()) + 0.3]


def _positive(values: pd.Series) -> list[float | None]:
    """Finite positive values for a log axis; others (NaN, inf, <= 0) become gaps."""
    out = []
    for v in values.astype(float):
        out.append(float(v) if math.isfinite(v) and v > 0 else None)
    return out


def param_values(run: RunData, param: str) -> tuple[list, str]:
    """The plotted x values of ``param`` and the axis type (``log``, ``linear``, ``category``)."""
    scale = run.scales.get(param, "linear")
    col = run.trials[param]
    if scale == "categorical":
        return [str(v) for v in col], "category"
    x = pd.to_numeric(col, errors="coerce").astype(float)
    if scale == "one_minus_log":
        return (1.0 - x).tolist(), "log"
    return x.tolist(), "log" if scale == "log" else "linear"


def axis_title(run: RunData, param: str) -> str:
    scale = run.scales.get(param, "linear")
    name = short(param)
    if scale == "one_minus_log":
        return f"1 - {name} (log scale)"
    if scale == "log":
        return f"{name} (log scale)"
    return name


def params_vs_score(run: RunData) -> go.Figure:
    """One panel per hyperparameter: its value against the validation score."""
    params = run.params
    cols = min(3, max(len(params), 1))
    rows = max(1, math.ceil(len(params) / cols))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[short(p) for p in params] or ["(no hyperparameters varied)"],
        horizontal_spacing=0.08,
        vertical_spacing=0.22 if rows > 1 else 0.1,
    )
    best = run.best_id
    score = run.trials["val_score"].astype(float)
    labels = run.trials["status"].map(lambda s: _style(s)[0])
    for k, p in enumerate(params):
        r, c = k // cols + 1, k % cols + 1
        x, axis = param_values(run, p)
        for label, colour in MARKERS.items():
            mask = (labels == label).to_numpy() & np.isfinite(score.to_numpy())
            if not mask.any():
                continue
            fig.add_trace(
                go.Scatter(
                    x=[v for v, m in zip(x, mask, strict=True) if m],
                    y=score[mask].tolist(),
                    mode="markers",
                    name=label,
                    legendgroup=label,
                    showlegend=k == 0,
                    marker={"color": colour, "size": 8, "opacity": 0.75},
                    text=[f"{who(run)} {i}" for i in run.trials["id"][mask]],
                    hovertemplate="%{text}<br>%{x}<br>val %{y:.4f}<extra></extra>",
                ),
                row=r,
                col=c,
            )
        if best is not None:
            i = int(np.flatnonzero(run.trials["id"].to_numpy() == best)[0])
            fig.add_trace(
                go.Scatter(
                    x=[x[i]],
                    y=[float(score.iloc[i])],
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
        fig.update_xaxes(title_text=axis_title(run, p), type=axis, row=r, col=c)
        if c == 1:
            fig.update_yaxes(title_text=f"validation {run.score_name}", row=r, col=c)
    fig.update_layout(
        **LAYOUT,
        title=f"Hyperparameters against the validation {run.score_name}",
        height=140 + 300 * rows,
    )
    return fig


def parallel_coordinates(run: RunData) -> go.Figure:
    """Every trial with a finite score as one line across its hyperparameters and score
    (log-scaled knobs as log10 values; categories as integer codes with their labels)."""
    ok = run.trials[np.isfinite(run.trials["val_score"].astype(float))]
    dims = []
    for p in run.params:
        scale = run.scales.get(p, "linear")
        if scale == "categorical":
            cats = sorted({str(v) for v in run.trials[p]})
            codes = [cats.index(str(v)) for v in ok[p]]
            dims.append(
                {
                    "label": short(p),
                    "values": codes,
                    "tickvals": list(range(len(cats))),
                    "ticktext": cats,
                }
            )
            continue
        v = pd.to_numeric(ok[p], errors="coerce").astype(float)
        if scale == "log":
            dims.append({"label": f"log10 {short(p)}", "values": np.log10(v).tolist()})
        elif scale == "one_minus_log":
            dims.append({"label": f"log10(1-{short(p)})", "values": np.log10(1 - v).tolist()})
        else:
            dims.append({"label": short(p), "values": v.tolist()})
    score = ok["val_score"].astype(float).tolist()
    dims.append({"label": f"val {run.score_name}", "values": score})
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


def importance(run: RunData) -> tuple[go.Figure | None, str]:
    """Optuna's hyperparameter importance (fANOVA, seeded) on the study's complete trials;
    ``(None, reason)`` when it cannot be computed (no study, too few trials, ...)."""
    if run.study is None:
        return None, "importance needs an Optuna study (caviar tune runs)"
    import optuna
    from optuna.importance import FanovaImportanceEvaluator
    from optuna.trial import TrialState

    n = len(run.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    if n < MIN_COMPLETE:
        return None, (
            f"hyperparameter importance could not be computed: it needs at least "
            f"{MIN_COMPLETE} complete trials (this study has {n})"
        )
    try:
        imp = optuna.importance.get_param_importances(
            run.study, evaluator=FanovaImportanceEvaluator(seed=0)
        )
    except Exception as e:  # noqa: BLE001 - any reason optuna gives, shown as a note
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        return None, f"hyperparameter importance could not be computed: {first}"
    if not imp:
        return None, "hyperparameter importance could not be computed: no varied parameter"
    names = list(imp)[::-1]
    fig = go.Figure(
        go.Bar(
            x=[imp[n] for n in names],
            y=[short(n) for n in names],
            orientation="h",
            marker_color="#1f77b4",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        **LAYOUT,
        title="Hyperparameter importance (Optuna fANOVA on complete trials)",
        height=160 + 40 * len(names),
        xaxis_title="importance (fraction of explained variance)",
        yaxis_title="hyperparameter",
    )
    return fig, ""


def rounds(run: RunData) -> go.Figure | None:
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
        fig.update_yaxes(type=axis, row=row, col=col)
    fig.update_xaxes(title_text="round", dtick=1)
    fig.update_layout(
        **LAYOUT,
        title="Search rounds: validation score and sampled values per round",
        height=140 + 300 * n_rows,
    )
    return fig


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
                y=_positive(pd.Series(series, dtype=float)),
                mode="lines+markers",
                name=name,
            )
        )
    fig.update_layout(
        **LAYOUT,
        title="Gradient norm per layer (mean over each epoch's steps)",
        height=380,
        xaxis={"title": {"text": "epoch"}, "dtick": 1 if len(per_epoch[0]) <= 20 else None},
        yaxis={"title": {"text": "||dL/dW|| (log scale)"}, "type": "log"},
    )
    return fig


def lr_range(report: dict) -> go.Figure | None:
    """The learning-rate range test: smoothed loss against the rate (log x)."""
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
    for key, label, colour in (
        ("suggested_lr", "suggested (steepest descent)", BEST),
        ("min_loss_lr", "min-loss rate / 10", "#2ca02c"),
    ):
        v = lr.get(key)
        if v:
            fig.add_trace(
                go.Scatter(
                    x=[v, v],
                    y=[min(lr["losses"]), max(lr["losses"])],
                    mode="lines",
                    name=f"{label}: {v:.3g}",
                    line={"color": colour, "dash": "dash"},
                )
            )
    fig.update_layout(
        **LAYOUT,
        title="Learning-rate range test",
        height=380,
        xaxis={"title": {"text": "learning rate (log scale)"}, "type": "log"},
        yaxis_title="smoothed training loss",
    )
    return fig
