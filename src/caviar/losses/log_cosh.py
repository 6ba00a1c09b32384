"""Log-cosh loss (:ref:`bg-regression-losses`).

    ℓ(r) = log cosh(r),   r = ŷ − y

computed without overflow as ``log cosh r = |r| + log1p(e^{−2|r|}) − log 2`` (cosh
overflows for |r| ≳ 710 in float64, ≳ 89 in float32). Its derivative is ``tanh r``: close
to ``½ r²`` for small residuals and to ``|r| − log 2`` for large ones. The textbook form is
the sum over the n examples; the engine averages over the batch (and over the K outputs) so
the learning rate does not scale with the batch size.
"""

from __future__ import annotations

import math

import torch

from caviar.losses._inputs import dense_target
from caviar.losses.reduction import Reduction, reduce_loss

_LOG2 = math.log(2.0)


def log_cosh(
    pred: torch.Tensor, target: torch.Tensor, *, reduction: Reduction = "mean"
) -> torch.Tensor:
    """Mean log-cosh of the residual per member → ``(P,)``."""
    y = dense_target(pred, target, "log_cosh")
    a = (pred - y).abs()
    return reduce_loss(a + torch.log1p(torch.exp(-2.0 * a)) - _LOG2, reduction)
