"""All regularization terms of a population in one call (:ref:`bg-penalties`).

    R = λ₁ᵏ Σ_W |W| + λ₂ᵏ Σ_W W² + λ₁ᵇ Σ_b |b| + λ₂ᵇ Σ_b b²
        + λ₁ᵃ (1/B) Σ_a Σ_{i,u} |a_{i,u}| + λ₂ᵃ (1/B) Σ_a Σ_{i,u} a_{i,u}²

per member (shape ``(P,)``): the Keras kernel, bias and activity regularizers
with the L1 and L2 penalties (no factor ½). See :mod:`caviar.penalties.norms` and
:mod:`caviar.penalties.activity`. Each λ is a python number or a ``(P,)`` tensor; all six
are validated (λ ≥ 0) with one device synchronisation, and a term whose λ is zero for
every member is not computed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from caviar.penalties._lambdas import Lambda, check_lambdas
from caviar.penalties.activity import activity_l1, activity_l2
from caviar.penalties.norms import l1_norm, scaled, squared_l2_norm


def penalties(
    weights: Sequence[torch.Tensor],
    biases: Sequence[torch.Tensor],
    activities: Sequence[torch.Tensor],
    *,
    l1_kernel: Lambda = 0.0,
    l2_kernel: Lambda = 0.0,
    l1_bias: Lambda = 0.0,
    l2_bias: Lambda = 0.0,
    l1_activity: Lambda = 0.0,
    l2_activity: Lambda = 0.0,
) -> torch.Tensor:
    """Total penalty per member, ``(P,)``.

    ``weights``: list of ``(P, fan_in, fan_out)``; ``biases``: list of ``(P, 1, fan_out)``;
    ``activities``: list of hidden layer outputs ``(P, B, F)``. Any list may be empty (its
    terms are then 0), but not all three.
    """
    ref = next((t for group in (weights, biases, activities) for t in group), None)
    if ref is None:
        raise ValueError("penalties needs at least one weight, bias or activation tensor")
    P = ref.shape[0]
    lams = check_lambdas(
        {
            "l1_kernel": l1_kernel,
            "l2_kernel": l2_kernel,
            "l1_bias": l1_bias,
            "l2_bias": l2_bias,
            "l1_activity": l1_activity,
            "l2_activity": l2_activity,
        },
        P,
        dtype=ref.dtype,
        device=ref.device,
    )
    return penalty_value(weights, biases, activities, lams, P)


def penalty_value(
    weights: Sequence[torch.Tensor],
    biases: Sequence[torch.Tensor],
    activities: Sequence[torch.Tensor],
    lambdas: Mapping[str, Lambda | None],
    size: int,
) -> torch.Tensor:
    """The total penalty ``(P,)`` for λ already checked (``None`` or missing: term off).

    The training loop validates λ once per epoch and calls this every step.
    """
    ref = next((t for group in (weights, biases, activities) for t in group), None)
    assert ref is not None
    terms = (
        ("l1_kernel", weights, l1_norm),
        ("l2_kernel", weights, squared_l2_norm),
        ("l1_bias", biases, l1_norm),
        ("l2_bias", biases, squared_l2_norm),
        ("l1_activity", activities, activity_l1),
        ("l2_activity", activities, activity_l2),
    )
    total = ref.new_zeros(size)
    for name, tensors, reg in terms:
        lam = lambdas.get(name)
        if lam is not None and len(tensors) > 0:
            total = total + scaled(lam, reg(tensors))
    return total
