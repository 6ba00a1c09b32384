"""RMSProp: divide the step by a running root-mean-square of recent gradients.

RMSProp (:ref:`bg-rmsprop`), with ``r`` the rolling average of the squared gradient::

    r     <- rho * r + (1 - rho) * grad**2
    theta <- theta * (1 - eta * weight_decay)          # decoupled decay (bg-weight-decay)
    theta <- theta - eta * grad / sqrt(r + eps)        # eps_inside_sqrt=True (default)
    theta <- theta - eta * grad / (sqrt(r) + eps)      # eps_inside_sqrt=False (PyTorch)

Putting ``eps`` (about 1e-7) *inside* the square root is the default
here. ``eps_inside_sqrt=False`` gives ``torch.optim.RMSprop``
(``alpha`` there is ``rho`` here; its ``momentum`` and ``centered`` options are
not provided). The two differ noticeably only while ``r`` is comparable to
``eps`` (inside: about ``eps**0.5``; outside: ``eps``), i.e. for tiny gradients.
The gradient is the mean over the batch (the summed gradient divided by
``batch_size``); in Caviar the loss is already a batch mean.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from caviar.optim.base import (
    NON_NEGATIVE,
    POSITIVE,
    UNIT_INTERVAL,
    PopulationOptimizer,
    Rule,
    decoupled_weight_decay_,
)
from caviar.tensors import per_member


def rmsprop_step(
    param: torch.Tensor,
    grad: torch.Tensor,
    square_avg: torch.Tensor,
    step: torch.Tensor,
    *,
    lr: torch.Tensor,
    rho: torch.Tensor,
    eps: torch.Tensor,
    weight_decay: torch.Tensor | None = None,
    eps_inside_sqrt: bool = True,
    scratch: torch.Tensor | None = None,
) -> None:
    """One RMSProp update in place. ``scratch``: optional buffer shaped like ``param``."""
    step.add_(1)
    if scratch is None:
        scratch = torch.empty_like(param, memory_format=torch.contiguous_format)
    torch.mul(grad, grad, out=scratch)
    square_avg.lerp_(scratch, per_member(1.0 - rho, param))
    eps_v = per_member(eps, param)
    if eps_inside_sqrt:
        torch.add(square_avg, eps_v, out=scratch).sqrt_()
    else:
        torch.sqrt(square_avg, out=scratch).add_(eps_v)
    torch.div(grad, scratch, out=scratch)
    decoupled_weight_decay_(param, lr, weight_decay)
    param.addcmul_(scratch, per_member(-lr, param))


class RMSprop(PopulationOptimizer):
    """RMSProp (:ref:`bg-rmsprop`). Hypers: ``lr``, ``rho``, ``eps``, ``weight_decay``.

    Args:
        params: tensors with a leading member axis.
        eps_inside_sqrt: ``True`` (default) divides by ``sqrt(r + eps)``;
            ``False`` divides by ``sqrt(r) + eps`` like ``torch.optim.RMSprop``.
        **hypers: per-member hyperparameters.
    """

    name = "rmsprop"
    hyper_defaults: ClassVar[dict[str, float]] = {
        "lr": 1e-3,
        "rho": 0.9,
        "eps": 1e-7,
        "weight_decay": 0.0,
    }
    hyper_rules: ClassVar[dict[str, Rule]] = {
        "lr": NON_NEGATIVE,
        "rho": UNIT_INTERVAL,
        "eps": POSITIVE,
        "weight_decay": NON_NEGATIVE,
    }
    state_names: ClassVar[tuple[str, ...]] = ("square_avg",)

    def __init__(
        self,
        params: Sequence[torch.Tensor] | torch.Tensor,
        *,
        eps_inside_sqrt: bool = True,
        **hypers: Any,
    ) -> None:
        self.eps_inside_sqrt = bool(eps_inside_sqrt)
        super().__init__(params, **hypers)

    def options(self) -> dict[str, Any]:
        return {"eps_inside_sqrt": self.eps_inside_sqrt}

    step_fn = staticmethod(rmsprop_step)
    uses_scratch: ClassVar[bool] = True
