"""Heavy-ball momentum, in its two usual conventions (:ref:`bg-momentum`).

**Momentum** (PyTorch's ``torch.optim.SGD(momentum=...)``
convention). The buffer ``V`` accumulates raw gradients and the learning rate
multiplies it when it is applied::

    V     <- rho * V + (1 - dampening) * grad
    theta <- theta * (1 - eta * weight_decay)        # decoupled decay (bg-weight-decay)
    theta <- theta - eta * V

(With ``V`` accumulating ``+grad`` the step must be ``-eta V`` to descend, as in
gradient descent and in PyTorch; ``theta <- theta + eta V`` would ascend.) ``rho = 0``
is plain SGD. The optional ``dampening`` gives the exponential-moving-average
form ``v <- beta v + (1 - beta) grad``: take
``momentum = dampening = beta``.

``V`` starts at zero and the formula is applied from the first step. PyTorch
instead initialises its buffer to the first gradient *without* dampening, so
the two agree exactly when ``dampening = 0`` (``0 * rho + g = g``) and differ
only on the first step's dampening factor otherwise (pre-setting PyTorch's
``momentum_buffer`` to zeros makes them identical again). Also, PyTorch ignores
``dampening`` when ``momentum = 0`` while here the formula still scales the
step by ``1 - dampening``. ``momentum`` must be in ``[0, 1)``, ``dampening`` in
``[0, 1]``.

**VelocityMomentum** (the Keras / Sutskever et al. 2013
convention). The velocity ``v`` already contains the learning rate::

    v     <- alpha * v - eta * grad
    theta <- theta * (1 - eta * weight_decay)        # decoupled decay (bg-weight-decay)
    theta <- theta + v

**How they relate.** If ``eta`` is constant, ``v = -eta * V`` holds at every
step by induction (``v' = alpha v - eta g = -eta (alpha V + g) = -eta V'``), so
with ``alpha = rho`` and no dampening both produce identical trajectories. When
``eta`` changes (a schedule's ``lr_scale``), they differ: ``Momentum`` applies
the *current* ``eta`` to the whole accumulated ``V`` (a learning-rate drop
immediately shrinks the step, including its old momentum), while
``VelocityMomentum`` keeps old velocity at the ``eta`` it was made with and
only new gradients see the new ``eta``.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from caviar.optim.base import (
    CLOSED_UNIT_INTERVAL,
    NON_NEGATIVE,
    UNIT_INTERVAL,
    PopulationOptimizer,
    Rule,
    decoupled_weight_decay_,
)
from caviar.tensors import per_member


def momentum_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    momentum_buffer: torch.Tensor,
    step: torch.Tensor,
    *,
    lr: torch.Tensor,
    momentum: torch.Tensor,
    dampening: torch.Tensor | None = None,
    weight_decay: torch.Tensor | None = None,
) -> None:
    """One heavy-ball update (PyTorch convention, :ref:`bg-momentum`) in place.

    ``V <- momentum*V + (1-dampening)*grad; theta <- theta*(1-lr*wd) - lr*V``.
    All hypers are ``(P,)``; ``dampening=None`` / ``weight_decay=None`` mean 0.
    """
    step.add_(1)
    momentum_buffer.mul_(per_member(momentum, param))
    if dampening is None:
        momentum_buffer.add_(grad)
    else:
        momentum_buffer.addcmul_(grad, per_member(1.0 - dampening, param))
    decoupled_weight_decay_(param, lr, weight_decay)
    param.addcmul_(momentum_buffer, per_member(-lr, param))


def velocity_momentum_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    velocity: torch.Tensor,
    step: torch.Tensor,
    *,
    lr: torch.Tensor,
    momentum: torch.Tensor,
    weight_decay: torch.Tensor | None = None,
) -> None:
    """One velocity-form update (Keras convention, :ref:`bg-momentum`) in place.

    ``v <- momentum*v - lr*grad; theta <- theta*(1-lr*wd) + v``. Hypers ``(P,)``.
    """
    step.add_(1)
    velocity.mul_(per_member(momentum, param)).addcmul_(grad, per_member(-lr, param))
    decoupled_weight_decay_(param, lr, weight_decay)
    param.add_(velocity)


class Momentum(PopulationOptimizer):
    """Heavy-ball momentum, ``V <- rho V + (1-d) g; theta <- theta - eta V`` (:ref:`bg-momentum`).

    PyTorch's ``SGD(momentum=rho, dampening=d)`` convention; see the module
    docstring. Hypers: ``lr``, ``momentum``, ``dampening``, ``weight_decay``.
    """

    name = "momentum"
    hyper_defaults: ClassVar[dict[str, float]] = {
        "lr": 1e-2,
        "momentum": 0.9,
        "dampening": 0.0,
        "weight_decay": 0.0,
    }
    hyper_rules: ClassVar[dict[str, Rule]] = {
        "lr": NON_NEGATIVE,
        "momentum": UNIT_INTERVAL,
        "dampening": CLOSED_UNIT_INTERVAL,
        "weight_decay": NON_NEGATIVE,
    }
    state_names: ClassVar[tuple[str, ...]] = ("momentum_buffer",)

    step_fn = staticmethod(momentum_step)


class VelocityMomentum(PopulationOptimizer):
    """Velocity-form momentum, ``v <- alpha v - eta g; theta <- theta + v`` (:ref:`bg-momentum`).

    Keras / Sutskever convention; see the module docstring for how it relates to
    :class:`Momentum`. Hypers: ``lr``, ``momentum`` (the ``alpha`` above),
    ``weight_decay``.
    """

    name = "velocity_momentum"
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
    state_names: ClassVar[tuple[str, ...]] = ("velocity",)

    step_fn = staticmethod(velocity_momentum_step)
