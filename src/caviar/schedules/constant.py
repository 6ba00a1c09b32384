"""Constant schedule: the multiplier is 1 at every time (the base learning rate)."""

from __future__ import annotations

from typing import ClassVar

import torch

from caviar.schedules.base import Rule, Schedule


class Constant(Schedule):
    """``multiplier(t) = 1``. No parameters."""

    name = "constant"
    constant = True
    param_defaults: ClassVar[dict[str, float | None]] = {}
    param_rules: ClassVar[dict[str, Rule]] = {}

    def multiplier(self, t: torch.Tensor) -> torch.Tensor:
        return torch.ones_like(t)
