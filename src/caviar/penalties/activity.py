"""L1 and L2 activity penalties on layer outputs (activity regularizer) (:ref:`bg-penalties`).

For a layer output ``a`` of shape ``(P, B, F)`` (member, example, unit):

    L1: λ (1/B) Σ_i Σ_u |a_{i,u}|,        L2: λ (1/B) Σ_i Σ_u a_{i,u}²

i.e. λ times the per-example sum over the units, averaged over the batch. This is the
Keras convention (``activity_regularizer``: the regularizer's sum over the batch is divided
by the batch size), which keeps the penalty's scale independent of the batch size, like
the losses. Summed over the layers given; no factor ½ on the L2 term (:ref:`bg-penalties`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from caviar.penalties._lambdas import Lambda, check_lambdas
from caviar.penalties.norms import scaled


def activity_l1(activities: Sequence[torch.Tensor]) -> torch.Tensor:
    """``(1/B) Σ_i Σ_u |a_{i,u}|`` summed over layers: list of ``(P, B, ...)`` → ``(P,)``."""
    return sum(a.abs().flatten(1).sum(dim=1) / a.shape[1] for a in activities)  # type: ignore[return-value]


def activity_l2(activities: Sequence[torch.Tensor]) -> torch.Tensor:
    """``(1/B) Σ_i Σ_u a_{i,u}²`` summed over layers: list of ``(P, B, ...)`` → ``(P,)``."""
    return sum(a.square().flatten(1).sum(dim=1) / a.shape[1] for a in activities)  # type: ignore[return-value]


def activity_penalty(
    activities: Sequence[torch.Tensor], *, l1: Lambda = 0.0, l2: Lambda = 0.0
) -> torch.Tensor:
    """Activity penalty per member, ``(P,)``; a term whose λ is 0 for all members is skipped."""
    if not activities:
        raise ValueError("activity_penalty needs at least one activation tensor")
    first = activities[0]
    lams = check_lambdas(
        {"l1_activity": l1, "l2_activity": l2},
        first.shape[0],
        dtype=first.dtype,
        device=first.device,
    )
    total = first.new_zeros(first.shape[0])
    if lams["l1_activity"] is not None:
        total = total + scaled(lams["l1_activity"], activity_l1(activities))
    if lams["l2_activity"] is not None:
        total = total + scaled(lams["l2_activity"], activity_l2(activities))
    return total
