"""Exponential decay: ``multiplier(t) = exp(-k * t)``.

Exponential decay (:ref:`bg-lr-schedules`). The form ``eta = eta_0 * e^(-k/t)``
sometimes printed is a typo
for ``e^(-k t)``: ``e^(-k/t)`` is undefined at ``t = 0`` (the first step) and,
for ``t > 0``, *increases* with ``t`` towards ``eta_0`` (``-k/t`` rises to 0),
so it would be a warm-up, not a decay. The usual list (step decay,
exponential decay, ``1/t`` decay, as in the CS231n notes on annealing the
learning rate) defines exponential decay as ``eta_0 * e^(-k t)``, which is what
we implement, with ``t`` in epochs.

Parameter (per member): ``k >= 0`` (required; ``k = 0`` is a constant rate).
"""

from __future__ import annotations

from typing import ClassVar

import torch

from caviar.schedules.base import NON_NEGATIVE, Rule, Schedule


class ExponentialDecay(Schedule):
    """``exp(-k t)`` (:ref:`bg-lr-schedules`)."""

    name = "exponential"
    param_defaults: ClassVar[dict[str, float | None]] = {"k": None}
    param_rules: ClassVar[dict[str, Rule]] = {"k": NON_NEGATIVE}

    def multiplier(self, t: torch.Tensor) -> torch.Tensor:
        return torch.exp(-self.params["k"] * t)
