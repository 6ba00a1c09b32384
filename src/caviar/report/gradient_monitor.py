"""Figure of the training gradient monitor (:mod:`caviar.training.gradient_monitor`):
per member and layer, ``||dJ/dW_l||`` at the end of each epoch (log scale), the members
with a vanishing/exploding warning named in the title. Input: the ``diagnostics.json``
a ``caviar train`` run directory holds (``{member: diagnostics}``)."""

from __future__ import annotations

import math

import plotly.graph_objects as go


def gradient_monitor_figure(diagnostics: dict, *, max_members: int = 8) -> go.Figure | None:
    """Lines ``member m, layer l`` over epochs; None when nothing was recorded."""
    fig = go.Figure()
    flagged = []
    for member, diag in list(diagnostics.items())[:max_members]:
        per_epoch = (diag.get("gradients") or {}).get("per_epoch") or []
        for layer, series in enumerate(per_epoch):
            y = [v if v is not None and math.isfinite(v) and v > 0 else None for v in series]
            fig.add_trace(
                go.Scatter(
                    x=list(range(1, len(series) + 1)),
                    y=y,
                    mode="lines",
                    name=f"member {member}, layer {layer}",
                )
            )
        if any(w.startswith(("vanishing", "exploding")) for w in diag.get("warnings", [])):
            flagged.append(str(member))
    if not fig.data:
        return None
    title = "Gradient norm per layer at each epoch's end"
    if flagged:
        title += f" -- vanishing/exploding: member {', '.join(flagged)}"
    fig.update_layout(
        title=title,
        height=380,
        xaxis={"title": {"text": "epoch"}},
        yaxis={"title": {"text": "||dJ/dW|| (log scale)"}, "type": "log"},
    )
    return fig
