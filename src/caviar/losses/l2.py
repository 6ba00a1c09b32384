"""L2 loss (mean squared error) (:ref:`bg-regression-losses`).

    ℓ_i = (ŷ_i − y_i)²,        L_m = (1/(B·K)) Σ_i Σ_k (ŷ_{m,i,k} − y_{i,k})²

No factor 1/2. The textbook form is the sum over the n examples; the engine
averages over the batch (and over the K outputs) so the learning rate does not scale
with the batch size. Equals ``torch.nn.functional.mse_loss(pred[m], target)`` per member.
"""

from __future__ import annotations

import torch

from caviar.losses._inputs import dense_target
from caviar.losses.reduction import Reduction, reduce_loss


def l2(pred: torch.Tensor, target: torch.Tensor, *, reduction: Reduction = "mean") -> torch.Tensor:
    """Mean squared error per member: ``pred (P, B, K)``, dense target → ``(P,)``."""
    y = dense_target(pred, target, "l2")
    return reduce_loss((pred - y).square(), reduction)
