"""Step decay: multiply the learning rate by ``factor`` every ``k`` epochs.

Step decay (:ref:`bg-lr-schedules`): every ``k`` epochs the rate is multiplied by
a factor (default 0.5, halving)::

    multiplier(t) = factor ** floor(t / k)

so with ``k = 2`` and ``factor = 0.5`` the multipliers at ``t = 0, 1, 2, 3, 4``
are ``1, 1, 0.5, 0.5, 0.25``. ``k`` is measured in epochs (a float; use
``1/steps_per_epoch`` units for decay every so many steps).

Parameters (per member): ``k > 0`` (required), ``factor`` in ``(0, 1]``.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from caviar.schedules.base import HALF_OPEN_UNIT, POSITIVE, Rule, Schedule


class StepDecay(Schedule):
    """``factor ** floor(t / k)`` (:ref:`bg-lr-schedules`)."""

    name = "step"
    param_defaults: ClassVar[dict[str, float | None]] = {"k": None, "factor": 0.5}
    param_rules: ClassVar[dict[str, Rule]] = {"k": POSITIVE, "factor": HALF_OPEN_UNIT}

    def multiplier(self, t: torch.Tensor) -> torch.Tensor:
        return torch.pow(self.params["factor"], torch.floor(t / self.params["k"]))
