"""Multiclass hinge loss (Weston-Watkins / Crammer-Singer margin form) (:ref:`bg-hinge`).

    ℓ_i = Σ_{j ≠ t} max(0, ŷ_j − ŷ_t + 1)

for raw scores ``ŷ`` (no softmax) and true class ``t``: each wrong class whose score comes
within a margin of 1 of the true score adds its violation (for example, three examples can
give 1.0, 0.6 and 0.0). The textbook form sums over the examples; the engine averages over
the batch so the learning rate does not scale with the batch size.

``torch.nn.functional.multi_margin_loss`` (p=1, margin=1) is the same sum divided by K.
"""

from __future__ import annotations

import torch

from caviar.losses._inputs import check_predictions, class_codes, require_classes
from caviar.losses.reduction import Reduction, reduce_loss


def hinge_violations(scores: torch.Tensor, target: torch.Tensor, loss: str) -> torch.Tensor:
    """``max(0, ŷ_j − ŷ_t + 1)`` for every wrong class j and 0 at the true class: ``(P, B, K)``."""
    _, _, K = check_predictions(scores, loss)
    require_classes(K, loss)
    codes = class_codes(scores, target, loss).unsqueeze(-1)  # (P, B, 1)
    true_score = scores.gather(-1, codes)
    violation = torch.clamp_min(scores - true_score + 1.0, 0.0)
    is_true = torch.arange(K, device=scores.device) == codes
    return violation.masked_fill(is_true, 0.0)


def multiclass_hinge(
    scores: torch.Tensor, target: torch.Tensor, *, reduction: Reduction = "mean"
) -> torch.Tensor:
    """Multiclass hinge per member: ``scores (P, B, K)``, class codes → ``(P,)``."""
    return reduce_loss(hinge_violations(scores, target, "hinge").sum(dim=-1), reduction)
