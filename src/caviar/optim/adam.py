"""Adam ("adaptive moments") with bias correction, and AdamW (decoupled decay).

Adam (:ref:`bg-adam`: RMSProp combined
with momentum, which needs a bias correction because the moments start at 0).
For member ``i`` with ``eta = lr_i * lr_scale_i`` and its own step counter
``t`` (which starts at 0 and only advances on the member's own updates)::

    t     <- t + 1
    s     <- beta1 * s + (1 - beta1) * grad            # first moment ("momentum")
    r     <- beta2 * r + (1 - beta2) * grad**2         # second moment
    theta <- theta * (1 - eta * weight_decay)          # decoupled decay (bg-weight-decay)
    theta <- theta - eta * (s / (1 - beta1**t)) / (sqrt(r / (1 - beta2**t)) + eps)

``eps`` is outside the square root, as in ``torch.optim.Adam``.
With ``weight_decay = 0`` this is ``torch.optim.Adam(lr, betas, eps)``; with
``weight_decay > 0`` it is exactly ``torch.optim.AdamW(lr, betas, eps,
weight_decay)`` (decay multiplies the weights by ``1 - eta*wd`` before the
Adam step). :class:`AdamW` is the same algorithm with PyTorch's default
``weight_decay = 0.01``.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from caviar.optim.base import (
    NON_NEGATIVE,
    POSITIVE,
    UNIT_INTERVAL,
    PopulationOptimizer,
    Rule,
    decoupled_weight_decay_,
)
from caviar.optim.fused_adam import MemberRows, fused_adam_members, worth_fusing
from caviar.tensors import per_member


def adam_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_sq: torch.Tensor,
    step: torch.Tensor,
    *,
    lr: torch.Tensor,
    beta1: torch.Tensor,
    beta2: torch.Tensor,
    eps: torch.Tensor,
    weight_decay: torch.Tensor | None = None,
    scratch: torch.Tensor | None = None,
) -> None:
    """One Adam(W) update in place; ``step`` is the ``(P,)`` counter ``t`` (incremented).

    Hypers are ``(P,)``. ``scratch``: optional buffer shaped like ``param``.
    """
    step.add_(1)
    exp_avg.lerp_(grad, per_member(1.0 - beta1, param))
    if scratch is None:
        scratch = torch.empty_like(param, memory_format=torch.contiguous_format)
    torch.mul(grad, grad, out=scratch)
    exp_avg_sq.lerp_(scratch, per_member(1.0 - beta2, param))

    # Bias corrections per member, computed in float64 on (P,) tensors (cheap).
    bias_correction1 = (1.0 - beta1.double() ** step).to(param.dtype)
    bias_correction2 = (1.0 - beta2.double() ** step).to(param.dtype)
    step_size = lr / bias_correction1
    inv_sqrt_bc2 = bias_correction2.rsqrt()

    # denom = sqrt(r) / sqrt(1 - beta2^t) + eps, then update = s / denom.
    torch.sqrt(exp_avg_sq, out=scratch)
    torch.addcmul(per_member(eps, param), scratch, per_member(inv_sqrt_bc2, param), out=scratch)
    torch.div(exp_avg, scratch, out=scratch)
    decoupled_weight_decay_(param, lr, weight_decay)
    param.addcmul_(scratch, per_member(-step_size, param))


class Adam(PopulationOptimizer):
    """Adam with bias correction (:ref:`bg-adam`); with ``weight_decay > 0`` it is AdamW.

    Hypers: ``lr``, ``beta1``, ``beta2``, ``eps``, ``weight_decay``.
    """

    name = "adam"
    hyper_defaults: ClassVar[dict[str, float]] = {
        "lr": 1e-3,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
        "weight_decay": 0.0,
    }
    hyper_rules: ClassVar[dict[str, Rule]] = {
        "lr": NON_NEGATIVE,
        "beta1": UNIT_INTERVAL,
        "beta2": UNIT_INTERVAL,
        "eps": POSITIVE,
        "weight_decay": NON_NEGATIVE,
    }
    state_names: ClassVar[tuple[str, ...]] = ("exp_avg", "exp_avg_sq")

    step_fn = staticmethod(adam_step)
    uses_scratch: ClassVar[bool] = True
    _rows: MemberRows | None = None  # per-member row views for the fused path

    @torch.no_grad()
    def step(
        self,
        lr_scale: torch.Tensor | float | None = None,
        alive: torch.Tensor | None = None,
    ) -> None:
        """As :meth:`PopulationOptimizer.step`; long member rows (one flat ``(P, N)``
        tensor) go through PyTorch's fused kernel member by member
        (:mod:`caviar.optim.fused_adam`), the rest through :func:`adam_step`."""
        p = self.params[0]
        if len(self.params) != 1 or p.grad is None or p.grad.shape != p.shape:
            super().step(lr_scale, alive)  # (a wrong gradient shape raises there)
            return
        if not worth_fusing(p):
            super().step(lr_scale, alive)
            return
        lr = self._scaled_lr(lr_scale)
        alive_t = self._member_mask(alive, "alive")
        if not self.state[0]:
            self.state[0] = self._init_state(p)
        state = self.state[0]
        tensors = (p.detach(), p.grad, state["exp_avg"], state["exp_avg_sq"])
        if self._rows is None or not self._rows.matches(*tensors):
            self._rows = MemberRows(*tensors)
        fused_adam_members(
            self._rows,
            state["step"],
            lr=lr,
            alive=None if alive_t is None else alive_t.to(torch.bool),
            **{k: v for k, v in self.hypers.items() if k != "lr"},
        )


class AdamW(Adam):
    """Adam with decoupled weight decay: :class:`Adam` with ``weight_decay`` defaulting to 0.01.

    Matches ``torch.optim.AdamW`` (whose default ``weight_decay`` is 0.01).
    """

    name = "adamw"
    hyper_defaults: ClassVar[dict[str, float]] = {**Adam.hyper_defaults, "weight_decay": 1e-2}
