"""Inverse-time ("fractional") decay: ``multiplier(t) = 1 / (1 + k t)``.

Inverse-time (fractional) decay, ``eta = eta_0 / (1 + k t)`` (:ref:`bg-lr-schedules`),
with ``t`` in epochs.

Parameter (per member): ``k >= 0`` (required; ``k = 0`` is a constant rate).
"""

from __future__ import annotations

from typing import ClassVar

import torch

from caviar.schedules.base import NON_NEGATIVE, Rule, Schedule


class InverseTimeDecay(Schedule):
    """``1 / (1 + k t)`` (:ref:`bg-lr-schedules`)."""

    name = "inverse_time"
    param_defaults: ClassVar[dict[str, float | None]] = {"k": None}
    param_rules: ClassVar[dict[str, Rule]] = {"k": NON_NEGATIVE}

    def multiplier(self, t: torch.Tensor) -> torch.Tensor:
        return 1.0 / (1.0 + self.params["k"] * t)
