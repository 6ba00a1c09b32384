"""Kullback-Leibler divergence of the softmax from the target (:ref:`bg-kl-divergence`).

    KL(p' ‖ q) = Σ_j p'_j log p'_j − Σ_j p'_j log q_j ,    q = softmax(ŷ)

with ``0 log 0 = 0`` (``torch.special.xlogy``) and ``log q`` from ``log_softmax``. Writing
the first term with a minus sign is a common slip: that would be entropy plus cross-entropy,
not a divergence (it agrees with the above only for one-hot targets, where ``Σ p log p =
0``). ``p'`` is the target distribution, optionally label smoothed exactly as in
:func:`caviar.losses.cross_entropy.cross_entropy` (:ref:`bg-label-smoothing`: true class ``1
− ε``, others ``ε/(K−1)``). It differs from the cross-entropy by the entropy of ``p'``, a
constant in the logits: the two have the same gradient, and they are equal for one-hot
targets without smoothing (:ref:`bg-kl-divergence`).

For member ``m`` it equals ``torch.nn.functional.kl_div(log_softmax(ŷ_m), p'_m,
reduction="batchmean")``: the mean over the examples (the engine averages over the batch so
the learning rate does not scale with the batch size).
"""

from __future__ import annotations

import torch

from caviar.losses._inputs import Hyper, class_log_softmax
from caviar.losses.cross_entropy import smoothed_targets
from caviar.losses.reduction import Reduction, reduce_loss


def kl_divergence(
    logits: torch.Tensor,
    target: torch.Tensor,
    label_smoothing: Hyper = 0.0,
    *,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """KL(target ‖ softmax(logits)) per member → ``(P,)``; targets as for cross-entropy."""
    p = smoothed_targets(logits, target, label_smoothing, "kl_divergence")
    logq = class_log_softmax(logits)
    per_class = torch.special.xlogy(p, p) - p * logq
    return reduce_loss(per_class.sum(dim=-1), reduction)
