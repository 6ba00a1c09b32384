"""Huber loss with a per-member threshold δ (:ref:`bg-regression-losses`).

    r = ŷ − y,    ℓ_δ(r) = ½ r²            if |r| ≤ δ
                          δ (|r| − ½ δ)    otherwise

δ > 0 is a per-member hyperparameter (python float or ``(P,)`` tensor; default 1.0 in the
registry). The loss is continuous with a continuous first derivative at |r| = δ. The textbook
form is the sum over the n examples; the engine averages over the batch (and over the K
outputs) so the learning rate does not scale with the batch size. For member ``m`` it
equals ``torch.nn.functional.huber_loss(pred[m], target, delta=δ_m)``.
"""

from __future__ import annotations

import torch

from caviar.losses._inputs import Hyper, broadcast_hyper, dense_target, member_hyper
from caviar.losses.reduction import Reduction, reduce_loss


def huber(
    pred: torch.Tensor,
    target: torch.Tensor,
    delta: Hyper = 1.0,
    *,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """Huber loss per member (``delta`` > 0, one value or ``(P,)``) → ``(P,)``.

    Examples
    --------
    Two members, one example: an error of 3 is quadratic for ``delta = 4``
    (``0.5 * 3**2``) and linear for ``delta = 1`` (``1 * (3 - 0.5)``).

    >>> import torch
    >>> pred = torch.tensor([[[3.0]], [[3.0]]])      # (P, B, 1)
    >>> huber(pred, torch.tensor([0.0]), torch.tensor([4.0, 1.0]))
    tensor([4.5000, 2.5000])
    """
    y = dense_target(pred, target, "huber")
    d = broadcast_hyper(member_hyper(delta, pred, name="delta", loss="huber", low=0.0), pred)
    r = pred - y
    a = r.abs()
    quadratic = 0.5 * r.square()
    linear = d * (a - 0.5 * d)
    return reduce_loss(torch.where(a <= d, quadratic, linear), reduction)
