"""Learning-rate schedules with per-member parameters (multipliers of the base rate).

``schedule(t)`` returns a ``(P,)`` tensor of multipliers at time ``t`` in epochs
(``t = step / steps_per_epoch``); pass it to ``optimizer.step(lr_scale=...)``.

=================  ==========================  ======================================
name               formula                     parameters (per member)
=================  ==========================  ======================================
``constant``       1                           none
``step``           factor ** floor(t/k)        k > 0 (required), factor in (0,1] = 0.5
``exponential``    exp(-k t)                   k >= 0 (required)
``inverse_time``   1 / (1 + k t)               k >= 0 (required)
``cosine``         m + (1-m) 0.5(1+cos(pi      T > 0 (required), min_factor m in [0,1]
                   min(t,T)/T))                = 0
``cyclic_cosine``  m + (1-m) 0.5(1+cos(pi      k > 0 (required), min_factor m = 0
                   (t mod k)/k))               (snapshot ensembles)
``plateau``        x factor after patience     factor = 0.1, patience = 10, min_lr = 0,
                   epochs without progress     threshold = 1e-4, cooldown = 0 (see
                   (ReduceLROnPlateau)         :mod:`caviar.schedules.plateau`)
=================  ==========================  ======================================

Every schedule accepts ``warmup`` (epochs >= 0, per member; with
``steps_per_epoch``): a linear ramp ``min(1, (t + 1/steps_per_epoch)/warmup)``
multiplying the schedule (see :mod:`caviar.schedules.warmup`).
"""

from __future__ import annotations

from typing import Any

import torch

from caviar.errors import CaviarError
from caviar.schedules.base import Schedule
from caviar.schedules.constant import Constant
from caviar.schedules.cosine import CosineDecay
from caviar.schedules.cyclic_cosine import CyclicCosine
from caviar.schedules.exponential import ExponentialDecay
from caviar.schedules.inverse_time import InverseTimeDecay
from caviar.schedules.plateau import ReduceOnPlateau
from caviar.schedules.step import StepDecay
from caviar.schedules.warmup import Warmup

SCHEDULES: dict[str, type[Schedule]] = {
    "constant": Constant,
    "step": StepDecay,
    "exponential": ExponentialDecay,
    "inverse_time": InverseTimeDecay,
    "cosine": CosineDecay,
    "cyclic_cosine": CyclicCosine,
    "plateau": ReduceOnPlateau,
}


def make_schedule(
    name: str,
    size: int,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
    warmup: float | list[float] | torch.Tensor | None = None,
    steps_per_epoch: int | torch.Tensor | None = None,
    **params: Any,
) -> Schedule:
    """Build the schedule registered as ``name`` for ``size`` members, validated up front.

    ``warmup`` (epochs, per member) wraps the schedule in a linear warm-up and
    then needs ``steps_per_epoch``. Raises :class:`CaviarError` for an unknown
    name, an unknown, missing or invalid parameter, or a wrong number of values.
    """
    try:
        cls = SCHEDULES[name]
    except (KeyError, TypeError):
        raise CaviarError(
            f"unknown schedule {name!r} (choose from: {', '.join(SCHEDULES)})"
        ) from None
    schedule = cls(size, dtype=dtype, device=device, **params)
    if warmup is not None:
        schedule = Warmup(schedule, warmup, steps_per_epoch)
    return schedule


__all__ = [
    "SCHEDULES",
    "Constant",
    "CosineDecay",
    "CyclicCosine",
    "ExponentialDecay",
    "InverseTimeDecay",
    "ReduceOnPlateau",
    "Schedule",
    "StepDecay",
    "Warmup",
    "make_schedule",
]
