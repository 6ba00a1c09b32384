"""Learning-rate schedules for a population: one multiplier per member at time ``t``.

A schedule maps the training time ``t`` (in epochs, a float:
``t = step / steps_per_epoch``, so ``t = 0`` at the first step) to a ``(P,)``
tensor of multipliers of each member's base learning rate; the optimizer uses
``eta_i = lr_i * schedule(t)[i]`` (pass it as ``lr_scale`` to
``PopulationOptimizer.step``). Schedule parameters (decay rate ``k``, period,
``factor``, ``T``, ``warmup`` ...) are ``(P,)`` tensors too, so every member can
follow its own schedule. Parameters are validated when the schedule is built
(``make_schedule`` raises :class:`caviar.errors.CaviarError`), not when it is
called.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import torch

from caviar.errors import CaviarError
from caviar.tensors import as_member_tensor

Rule = tuple[Callable[[torch.Tensor], torch.Tensor], str]

NON_NEGATIVE: Rule = (lambda v: v >= 0, "must be >= 0")
POSITIVE: Rule = (lambda v: v > 0, "must be > 0")
HALF_OPEN_UNIT: Rule = (lambda v: (v > 0) & (v <= 1), "must be in (0, 1]")
CLOSED_UNIT: Rule = (lambda v: (v >= 0) & (v <= 1), "must be in [0, 1]")


class Schedule:
    """Base class: ``schedule(t) -> (P,)`` multipliers of the base learning rate.

    Subclasses set ``name``, ``param_defaults`` (``None`` marks a required
    parameter), ``param_rules`` and implement :meth:`multiplier`.

    Args:
        size: the population size ``P``.
        dtype, device: of the returned multipliers (use the parameters' ones).
        **params: schedule parameters, each a float, a list of ``P`` floats or a
            ``(P,)`` tensor.
    """

    name: ClassVar[str] = ""
    #: True when the multiplier is 1 for every member at every time (the trainer then
    #: skips computing it).
    constant: bool = False
    param_defaults: ClassVar[dict[str, float | None]] = {}
    param_rules: ClassVar[dict[str, Rule]] = {}

    def __init__(
        self,
        size: int,
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
        **params: Any,
    ) -> None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise CaviarError(f"{self.name} schedule: population size must be >= 1, got {size!r}")
        self.size = size
        self.dtype = dtype
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        unknown = sorted(set(params) - set(self.param_defaults))
        if unknown:
            expected = ", ".join(self.param_defaults) or "none"
            raise CaviarError(
                f"{self.name} schedule: unknown parameter {unknown[0]!r} (expected: {expected})"
            )
        self.params: dict[str, torch.Tensor] = {}
        for pname, default in self.param_defaults.items():
            value = params.get(pname, default)
            if value is None:
                raise CaviarError(f"{self.name} schedule: missing parameter {pname!r}")
            self.params[pname] = member_param(
                f"{self.name} schedule", pname, value, size, dtype, self.device,
                self.param_rules.get(pname),
            )  # fmt: skip

    def time(self, t: float | torch.Tensor) -> torch.Tensor:
        """``t`` (a float, or a ``(P,)`` tensor of per-member times) as a ``(P,)`` tensor."""
        if isinstance(t, torch.Tensor) and t.dim() > 0:
            if t.shape != (self.size,):
                raise CaviarError(
                    f"{self.name} schedule: t must be a float or have shape ({self.size},), "
                    f"got {tuple(t.shape)}"
                )
            tt = t.to(dtype=self.dtype, device=self.device)
            if not bool((tt >= 0).all()):
                raise CaviarError(f"{self.name} schedule: t must be >= 0 epochs, got {t.tolist()}")
            return tt
        tf = float(t)
        if not (tf >= 0 and math.isfinite(tf)):
            raise CaviarError(f"{self.name} schedule: t must be >= 0 epochs, got {tf:g}")
        return torch.full((self.size,), tf, dtype=self.dtype, device=self.device)

    def multiplier(self, t: torch.Tensor) -> torch.Tensor:
        """The multipliers at the ``(P,)`` times ``t``."""
        raise NotImplementedError

    def __call__(self, t: float | torch.Tensor) -> torch.Tensor:
        """Multipliers of the base learning rate at time ``t`` (epochs), shape ``(P,)``."""
        return self.multiplier(self.time(t))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(P={self.size}, params={list(self.params)})"


def member_param(
    owner: str,
    pname: str,
    value: Any,
    size: int,
    dtype: torch.dtype,
    device: torch.device,
    rule: Rule | None,
) -> torch.Tensor:
    """Convert a schedule parameter to a validated ``(size,)`` tensor (CaviarError if bad)."""
    try:
        t = as_member_tensor(value, size, dtype=dtype, device=device, name=pname)
    except ValueError as exc:
        raise CaviarError(f"{owner}: {exc}") from None
    except (TypeError, RuntimeError):
        raise CaviarError(
            f"{owner}: {pname} must be a number, a list of numbers or a tensor, got {value!r}"
        ) from None
    bad = ~torch.isfinite(t)
    if rule is not None:
        bad |= ~rule[0](t)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        v = float(t[i])
        phrase = rule[1] if rule is not None and math.isfinite(v) else "must be finite"
        where = "" if bool((t == t[i]).all()) else f" (member {i})"
        raise CaviarError(f"{owner}: {pname} {phrase}, got {v:g}{where}")
    return t
