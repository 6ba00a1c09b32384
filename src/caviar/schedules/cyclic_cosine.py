"""Cyclic cosine schedule (cosine annealing with warm restarts every ``k`` epochs).

For snapshot ensembles (:ref:`bg-ensembles`: snapshots of the model
taken during training, combined as independent models): the rate anneals
to ``min_factor`` at the end of every cycle of ``k`` epochs, then restarts at 1,
so a snapshot taken at each cycle's end (``ensemble.snapshot_every = k``) sits in
a different minimum (Loshchilov & Hutter's SGDR with a fixed period; Huang et
al.'s snapshot ensembles)::

    multiplier(t) = m + (1 - m) * 0.5 * (1 + cos(pi * (t mod k) / k))

Parameters (per member): ``k > 0`` epochs (required), ``min_factor = m`` in
``[0, 1]`` (default 0).
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch

from caviar.schedules.base import CLOSED_UNIT, POSITIVE, Rule, Schedule


class CyclicCosine(Schedule):
    """``m + (1 - m) * 0.5 (1 + cos(pi (t mod k) / k))``."""

    name = "cyclic_cosine"
    param_defaults: ClassVar[dict[str, float | None]] = {"k": None, "min_factor": 0.0}
    param_rules: ClassVar[dict[str, Rule]] = {"k": POSITIVE, "min_factor": CLOSED_UNIT}

    def multiplier(self, t: torch.Tensor) -> torch.Tensor:
        k = self.params["k"]
        floor = self.params["min_factor"]
        c = 0.5 * (1.0 + torch.cos(math.pi * torch.remainder(t, k) / k))
        return floor + (1.0 - floor) * c
