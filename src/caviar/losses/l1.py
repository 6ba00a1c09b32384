"""L1 loss (mean absolute error) (:ref:`bg-regression-losses`).

    ℓ_i = |ŷ_i − y_i|,        L_m = (1/(B·K)) Σ_i Σ_k |ŷ_{m,i,k} − y_{i,k}|

The textbook form is the sum over the n examples; the engine averages over the batch (and
over the K outputs) so the learning rate does not scale with the batch size. Equals
``torch.nn.functional.l1_loss(pred[m], target)`` for each member ``m``. The gradient at
a zero residual is 0 (the subgradient torch uses).
"""

from __future__ import annotations

import torch

from caviar.losses._inputs import dense_target
from caviar.losses.reduction import Reduction, reduce_loss


def l1(pred: torch.Tensor, target: torch.Tensor, *, reduction: Reduction = "mean") -> torch.Tensor:
    """Mean absolute error per member: ``pred (P, B, K)``, dense target → ``(P,)``."""
    y = dense_target(pred, target, "l1")
    return reduce_loss((pred - y).abs(), reduction)
