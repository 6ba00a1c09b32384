"""Log loss of the predicted class probabilities per member (``sklearn.metrics.log_loss``).

    log_loss = − Σ_i w_i log clip(p_i,y_i, ε, 1 − ε) / Σ_i w_i

with ``ε`` the machine epsilon of the dtype, as sklearn clips (:ref:`bg-cross-entropy`: the
cross-entropy of the model's probabilities; here of the saved model's probabilities,
whatever loss trained it).
"""

from __future__ import annotations

import torch


def log_loss(proba: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None):
    """``proba`` ``(P, n, C)``, ``target`` ``(n,)`` or ``(P, n)`` -> ``(P,)``."""
    eps = torch.finfo(proba.dtype).eps
    index = target.expand(proba.shape[:2])[..., None]
    nll = -proba.gather(-1, index)[..., 0].clamp(eps, 1 - eps).log()
    if weight is None:
        return nll.mean(dim=-1)
    w = weight.to(proba.dtype).expand_as(nll)
    return (nll * w).sum(dim=-1) / w.sum(dim=-1)
