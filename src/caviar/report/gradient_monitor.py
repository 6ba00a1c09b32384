"""Figure of the training gradient monitor (:mod:`caviar.training.gradient_monitor`):
per member and layer, ``||dJ/dW_l||`` at the end of each epoch (log scale), the members
with a vanishing/exploding warning named in the title. Input: ``{member: diagnostics}``,
the ``diagnostics.json`` a ``caviar train`` run directory holds, or for a ``caviar
tune`` run the ``gradients`` each trial stores (:func:`run_gradients`; at most
``THINNED`` epochs per trial, their numbers in ``epochs``).

The report (:mod:`caviar.report.html`, section "Gradient monitor") draws the members
with a warning first, then the best ranked, up to ``max_members``."""

from __future__ import annotations

import json
import math

import plotly.graph_objects as go

from caviar.report.style import LAYOUT, log_axis


def run_gradients(run) -> dict:
    """``{id: diagnostics}`` of a report's run (:class:`caviar.report.data.RunData`),
    ranked best first, those with a vanishing/exploding warning before the others;
    empty when the run recorded none."""
    out: dict = {}
    if run.kind == "train" and (run.run_dir / "diagnostics.json").is_file():
        try:
            out = json.loads((run.run_dir / "diagnostics.json").read_text())
        except (OSError, ValueError):
            out = {}
    elif run.kind == "tune" and run.study is not None:
        for t in run.study.get_trials(deepcopy=False):
            grads = t.user_attrs.get("gradients")
            if grads and "index" in t.user_attrs:
                warnings = t.user_attrs.get("warnings") or []
                out[str(t.user_attrs["index"])] = {"gradients": grads, "warnings": warnings}
    if not isinstance(out, dict) or not out:
        return {}
    rank = {str(i): k for k, i in enumerate(run.trials["id"].tolist())} if len(run.trials) else {}

    def key(item):
        member, diag = item
        return (not _flagged(diag), rank.get(str(member), len(rank)))

    return dict(sorted(out.items(), key=key))


def _flagged(diag) -> bool:
    warnings = diag.get("warnings", []) if isinstance(diag, dict) else []
    return any(w.startswith(("vanishing", "exploding")) for w in warnings)


def gradient_monitor_figure(
    diagnostics: dict, *, max_members: int = 8, who: str = "member"
) -> go.Figure | None:
    """Lines ``member m, layer l`` (``who``: "trial" in a tune report) over epochs; None
    when nothing was recorded."""
    fig = go.Figure()
    flagged, shown = [], []
    for member, diag in list(diagnostics.items())[:max_members]:
        grads = diag.get("gradients") or {}
        per_epoch = grads.get("per_epoch") or []
        for layer, series in enumerate(per_epoch):
            y = [v if v is not None and math.isfinite(v) and v > 0 else None for v in series]
            shown.extend(y)
            fig.add_trace(
                go.Scatter(
                    x=list(grads.get("epochs") or range(1, len(series) + 1)),
                    y=y,
                    mode="lines",
                    name=f"{who} {member}, layer {layer}",
                )
            )
        if _flagged(diag):
            flagged.append(str(member))
    if not fig.data:
        return None
    title = "Gradient norm per layer at each epoch's end"
    if flagged:
        title += f" -- vanishing/exploding: {who} {', '.join(flagged)}"
    fig.update_layout(
        **LAYOUT,
        title=title,
        height=380,
        xaxis={"title": {"text": "epoch"}},
        yaxis={**log_axis(shown), "title": {"text": "||dJ/dW|| (log scale)"}},
    )
    return fig
