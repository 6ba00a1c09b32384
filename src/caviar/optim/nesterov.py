"""Nesterov accelerated gradient (NAG), one learning rate and momentum per member.

Nesterov momentum (:ref:`bg-nesterov`) written with the velocity ``V`` of
:ref:`bg-momentum` and the "acceleration" ``V_new - V_old``::

    V_new <- rho * V_old + grad
    theta <- theta * (1 - eta * weight_decay)              # decoupled decay (bg-weight-decay)
    theta <- theta - eta * [V_new + rho * (V_new - V_old)]

(a form printed as ``theta + V_new + rho(...)`` without ``eta`` and with ``+`` is
a slip: as for momentum the step has to be ``-eta`` times the direction to descend).

**This is PyTorch's ``SGD(nesterov=True)``**, which steps along
``grad + rho * V_new``. Substituting ``rho * V_old = V_new - grad``::

    V_new + rho (V_new - V_old) = V_new + rho V_new - (V_new - grad)
                                = grad + rho * V_new.

We compute it in that second form, ``theta <- theta - eta*grad - eta*rho*V_new``,
which needs no copy of ``V_old``. The state starts at ``V = 0``; PyTorch starts
its buffer at the first gradient, which is the same value (``rho*0 + g = g``).
"""

from __future__ import annotations

from typing import ClassVar

import torch

from caviar.optim.base import (
    NON_NEGATIVE,
    UNIT_INTERVAL,
    PopulationOptimizer,
    Rule,
    decoupled_weight_decay_,
)
from caviar.tensors import per_member


def nesterov_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    momentum_buffer: torch.Tensor,
    step: torch.Tensor,
    *,
    lr: torch.Tensor,
    momentum: torch.Tensor,
    weight_decay: torch.Tensor | None = None,
) -> None:
    """One NAG update in place: ``V <- rho V + g; theta <- theta(1-eta wd) - eta (g + rho V)``."""
    step.add_(1)
    momentum_buffer.mul_(per_member(momentum, param)).add_(grad)
    decoupled_weight_decay_(param, lr, weight_decay)
    param.addcmul_(grad, per_member(-lr, param))
    param.addcmul_(momentum_buffer, per_member(-lr * momentum, param))


class Nesterov(PopulationOptimizer):
    """Nesterov accelerated gradient (:ref:`bg-nesterov`, ``torch.optim.SGD(nesterov=True)``).

    Hypers: ``lr``, ``momentum``, ``weight_decay``.
    """

    name = "nesterov"
    hyper_defaults: ClassVar[dict[str, float]] = {
        "lr": 1e-2,
        "momentum": 0.9,
        "weight_decay": 0.0,
    }
    hyper_rules: ClassVar[dict[str, Rule]] = {
        "lr": NON_NEGATIVE,
        "momentum": UNIT_INTERVAL,
        "weight_decay": NON_NEGATIVE,
    }
    state_names: ClassVar[tuple[str, ...]] = ("momentum_buffer",)

    step_fn = staticmethod(nesterov_step)
