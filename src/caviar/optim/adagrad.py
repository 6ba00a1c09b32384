"""AdaGrad: per-coordinate learning rates from the sum of squared gradients.

AdaGrad (:ref:`bg-adagrad`): precondition the gradient with the diagonal matrix
``B = diag(sum_j g_j g_j^T)^(1/2)`` (the diagonal of the accumulated outer products
``g_j g_j^T``), which is cheap to invert, so each coordinate's step shrinks as its squared
gradients pile up (this is why steps get smaller and smaller, which RMSProp fixes with a
decay). With ``eps`` added for numerical safety::

    G     <- G + grad**2                               # elementwise
    theta <- theta * (1 - eta * weight_decay)          # decoupled decay (bg-weight-decay)
    theta <- theta - eta * grad / (sqrt(G) + eps)

With ``weight_decay = 0`` this is ``torch.optim.Adagrad(lr=eta, eps=eps)`` with
its defaults ``lr_decay=0`` and ``initial_accumulator_value=0`` (use a schedule
for learning-rate decay).
"""

from __future__ import annotations

from typing import ClassVar

import torch

from caviar.optim.base import (
    NON_NEGATIVE,
    POSITIVE,
    PopulationOptimizer,
    Rule,
    decoupled_weight_decay_,
)
from caviar.tensors import per_member


def adagrad_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    sum_sq: torch.Tensor,
    step: torch.Tensor,
    *,
    lr: torch.Tensor,
    eps: torch.Tensor,
    weight_decay: torch.Tensor | None = None,
    scratch: torch.Tensor | None = None,
) -> None:
    """One AdaGrad update in place. ``scratch``: optional buffer shaped like ``param``."""
    step.add_(1)
    sum_sq.addcmul_(grad, grad)
    if scratch is None:
        scratch = torch.empty_like(param, memory_format=torch.contiguous_format)
    torch.sqrt(sum_sq, out=scratch).add_(per_member(eps, param))
    torch.div(grad, scratch, out=scratch)
    decoupled_weight_decay_(param, lr, weight_decay)
    param.addcmul_(scratch, per_member(-lr, param))


class Adagrad(PopulationOptimizer):
    """AdaGrad (:ref:`bg-adagrad`). Hypers: ``lr``, ``eps``, ``weight_decay``."""

    name = "adagrad"
    hyper_defaults: ClassVar[dict[str, float]] = {
        "lr": 1e-2,
        "eps": 1e-10,
        "weight_decay": 0.0,
    }
    hyper_rules: ClassVar[dict[str, Rule]] = {
        "lr": NON_NEGATIVE,
        "eps": POSITIVE,
        "weight_decay": NON_NEGATIVE,
    }
    state_names: ClassVar[tuple[str, ...]] = ("sum",)

    step_fn = staticmethod(adagrad_step)
    uses_scratch: ClassVar[bool] = True
