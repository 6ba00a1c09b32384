"""Plain (stochastic) gradient descent, one learning rate per member.

Update rule (:ref:`bg-gradient-descent`), for
member ``i`` with learning rate ``eta_i = lr_i * lr_scale_i``::

    theta <- theta * (1 - eta_i * weight_decay_i)     # decoupled decay (bg-weight-decay)
    theta <- theta - eta_i * grad

With ``weight_decay = 0`` this is ``torch.optim.SGD(lr=eta)``. Because there is
no momentum, the decoupled decay equals PyTorch's coupled L2 decay:
``theta*(1 - eta*wd) - eta*g == theta - eta*(g + wd*theta)``, i.e.
``torch.optim.SGD(lr=eta, weight_decay=wd)``.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from caviar.optim.base import NON_NEGATIVE, PopulationOptimizer, Rule, decoupled_weight_decay_
from caviar.tensors import per_member


def sgd_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    step: torch.Tensor,
    *,
    lr: torch.Tensor,
    weight_decay: torch.Tensor | None = None,
) -> None:
    """One SGD update in place on ``param`` of shape ``(P, ...)``.

    ``lr`` and ``weight_decay`` are ``(P,)`` (``weight_decay=None``: no decay);
    ``step`` is the ``(P,)`` update counter, incremented.
    """
    step.add_(1)
    decoupled_weight_decay_(param, lr, weight_decay)
    param.addcmul_(grad, per_member(-lr, param))


class SGD(PopulationOptimizer):
    """Population SGD (:ref:`bg-gradient-descent`). Hypers: ``lr``, ``weight_decay``."""

    name = "sgd"
    hyper_defaults: ClassVar[dict[str, float]] = {"lr": 1e-2, "weight_decay": 0.0}
    hyper_rules: ClassVar[dict[str, Rule]] = {"lr": NON_NEGATIVE, "weight_decay": NON_NEGATIVE}
    state_names: ClassVar[tuple[str, ...]] = ()

    step_fn = staticmethod(sgd_step)
