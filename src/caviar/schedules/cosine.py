"""Cosine decay over ``T`` epochs, with an optional floor.

Beside step, exponential and fractional decay (:ref:`bg-lr-schedules`), it is the usual
"anneal to (almost) zero by the end" schedule (Loshchilov & Hutter's SGDR without
restarts)::

    c(t)          = 0.5 * (1 + cos(pi * min(t, T) / T))
    multiplier(t) = min_factor + (1 - min_factor) * c(t)

so the multiplier is 1 at ``t = 0``, ``(1 + min_factor)/2`` at ``t = T/2`` and
``min_factor`` from ``t = T`` on.

Parameters (per member): ``T > 0`` epochs (required), ``min_factor`` in
``[0, 1]`` (default 0).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch

from caviar.schedules.base import CLOSED_UNIT, POSITIVE, Rule, Schedule


class CosineDecay(Schedule):
    """``min_factor + (1 - min_factor) * 0.5 (1 + cos(pi min(t,T)/T))``."""

    name = "cosine"
    param_defaults: ClassVar[dict[str, float | None]] = {"T": None, "min_factor": 0.0}
    param_rules: ClassVar[dict[str, Rule]] = {"T": POSITIVE, "min_factor": CLOSED_UNIT}

    def multiplier(self, t: torch.Tensor) -> torch.Tensor:
        T = self.params["T"]
        floor = self.params["min_factor"]
        c = 0.5 * (1.0 + torch.cos(math.pi * torch.minimum(t, T) / T))
        return floor + (1.0 - floor) * c
