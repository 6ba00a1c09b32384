"""Squared multiclass hinge loss (:ref:`bg-hinge`).

    ℓ_i = ½ Σ_{j ≠ t} max(0, ŷ_j − ŷ_t + 1)²

with a factor ½, so the gradient w.r.t. a violating score is the violation itself.
Smoother than the hinge (continuous first derivative). The textbook form sums over the examples;
the engine averages over the batch so the learning rate does not scale with the batch size.

``torch.nn.functional.multi_margin_loss(p=2, margin=1)`` is ``Σ_{j≠t} max(0, ·)² / K``, i.e.
this loss times ``2/K``.
"""

from __future__ import annotations

import torch

from caviar.losses.multiclass_hinge import hinge_violations
from caviar.losses.reduction import Reduction, reduce_loss


def squared_hinge(
    scores: torch.Tensor, target: torch.Tensor, *, reduction: Reduction = "mean"
) -> torch.Tensor:
    """Squared multiclass hinge per member: ``scores (P, B, K)``, class codes → ``(P,)``."""
    v = hinge_violations(scores, target, "squared_hinge")
    return reduce_loss(0.5 * v.square().sum(dim=-1), reduction)
