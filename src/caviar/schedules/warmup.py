"""Linear learning-rate warm-up, composable with any schedule.

For the first ``warmup`` epochs the learning rate ramps up linearly, and the
ramp multiplies the wrapped schedule (evaluated at the same, unshifted ``t``)::

    ramp(t)       = min(1, (t + 1/steps_per_epoch) / warmup)     (1 if warmup = 0)
    multiplier(t) = ramp(t) * inner(t)

``t = step / steps_per_epoch`` is the time at the *start* of the current step,
so ``t + 1/steps_per_epoch`` is the time at its end: step ``s`` (counting from
0) gets ``(s + 1) / (warmup * steps_per_epoch)``. The first step therefore
trains with ``1/(warmup * steps_per_epoch)`` of the rate, never 0, and the ramp
reaches 1 at the last warm-up step ``s = warmup*steps_per_epoch - 1``. (Because
``inner`` is not shifted, a decay already runs during warm-up; for the short
warm-ups this is meant for, that is a negligible difference from starting the
decay after it.)

Parameters: ``warmup >= 0`` epochs per member; ``steps_per_epoch >= 1`` (an
int shared by the population, or a ``(P,)`` tensor of whole numbers when members take
different numbers of steps: cross-validation folds of unequal sizes), required when
some ``warmup > 0``.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from caviar.errors import CaviarError
from caviar.schedules.base import NON_NEGATIVE, Rule, Schedule, member_param


class Warmup(Schedule):
    """Linear warm-up of ``warmup`` epochs multiplying an inner schedule."""

    name = "warmup"
    param_defaults: ClassVar[dict[str, float | None]] = {}
    param_rules: ClassVar[dict[str, Rule]] = {"warmup": NON_NEGATIVE}

    def __init__(
        self,
        inner: Schedule,
        warmup: float | list[float] | torch.Tensor,
        steps_per_epoch: int | torch.Tensor | None,
    ) -> None:
        super().__init__(inner.size, dtype=inner.dtype, device=inner.device)
        self.inner = inner
        owner = f"{inner.name} schedule"
        w = member_param(
            owner, "warmup", warmup, inner.size, inner.dtype, inner.device, NON_NEGATIVE
        )
        if isinstance(steps_per_epoch, torch.Tensor):  # per member, in the schedule's dtype
            steps_per_epoch = steps_per_epoch.to(dtype=inner.dtype, device=inner.device)
        if bool((w > 0).any()):
            steps_per_epoch = _checked_steps(owner, steps_per_epoch, inner)
        self.steps_per_epoch = steps_per_epoch
        self.params = {**inner.params, "warmup": w}

    @property
    def constant(self) -> bool:  # type: ignore[override]
        """Constant inner schedule and no member warming up (read live: PBT may set it)."""
        return self.inner.constant and not bool((self.params["warmup"] > 0).any())

    def multiplier(self, t: torch.Tensor) -> torch.Tensor:
        w = self.params["warmup"]
        base = self.inner.multiplier(t)
        if self.steps_per_epoch is None:  # every member has warmup == 0
            return base
        end = t + 1.0 / self.steps_per_epoch
        ramp = torch.where(w > 0, torch.clamp(end / torch.where(w > 0, w, 1.0), max=1.0), 1.0)
        return ramp * base


def _checked_steps(owner: str, steps, inner: Schedule) -> int | torch.Tensor:
    """``steps`` as an int or a ``(P,)`` tensor of whole numbers ``>= 1`` (CaviarError if not)."""
    if isinstance(steps, torch.Tensor) and steps.shape == (inner.size,):
        if bool(((steps >= 1) & (steps == steps.round())).all()):
            return steps
    elif isinstance(steps, int) and not isinstance(steps, bool) and steps >= 1:
        return steps
    raise CaviarError(f"{owner}: warmup needs steps_per_epoch as an integer >= 1, got {steps!r}")
