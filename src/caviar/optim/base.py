"""The population optimizer base class: per-member hyperparameters, alive mask, PBT copies.

Every optimizer in :mod:`caviar.optim` updates parameter tensors that carry a
leading member axis ``P`` (in practice one flat ``(P, N)`` leaf tensor, see
``docs/dev/conventions.md``). Each continuous hyperparameter is a ``(P,)`` tensor, so
member ``i`` trains with ``hypers[name][i]``. The maths of an algorithm lives in a
pure step function in its own module (like ``torch.optim.adam.adam``); the class
here holds the hyperparameters and state and handles the parts common to all
algorithms:

* ``lr_scale``: a ``(P,)`` multiplier from a learning-rate schedule; the update
  uses ``eta = hypers["lr"] * lr_scale``.
* ``alive``: a ``(P,)`` bool mask. Members that are not alive are frozen: their
  parameters and optimizer state (including step counters) do not change, and
  NaN or inf gradients of a frozen member cannot reach anything (masking is done
  by copying rows back, never by multiplying with the mask).
* Decoupled weight decay (:ref:`bg-weight-decay`: each step the weights are
  multiplied by a constant less than one), available on every optimizer as the
  ``weight_decay`` hyper: ``theta <- theta * (1 - eta * weight_decay)``, applied
  before the gradient step. This is exactly the convention of
  ``torch.optim.AdamW`` (Loshchilov & Hutter's decoupled decay with the decay
  scaled by the current learning rate).
* ``copy_members(dst, src)`` for population-based training: member ``dst[j]``
  gets member ``src[j]``'s optimizer state (moment buffers and step counter).
  Hyperparameters are not copied (PBT perturbs them separately).

The hyperparameter rules live in :mod:`caviar.optim.rules` and the state
buffers, their PBT copies and checkpoint checks in :mod:`caviar.optim.state`;
this module holds the class and its masked step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import torch

from caviar.errors import CaviarError
from caviar.optim.masked_step import masked_update, member_rows
from caviar.optim.rules import (
    CLOSED_UNIT_INTERVAL,
    NON_NEGATIVE,
    POSITIVE,
    UNIT_INTERVAL,
    Rule,
    check_hypers,
)
from caviar.optim.state import checked_states, copy_member_rows, init_state, snapshot
from caviar.tensors import as_member_tensor, per_member

# the rules, where the optimizers have imported them from
__all__ = [
    "CLOSED_UNIT_INTERVAL",
    "NON_NEGATIVE",
    "POSITIVE",
    "UNIT_INTERVAL",
    "PopulationOptimizer",
    "Rule",
    "decoupled_weight_decay_",
]


def decoupled_weight_decay_(
    param: torch.Tensor, lr: torch.Tensor, weight_decay: torch.Tensor | None
) -> None:
    """In place ``param <- param * (1 - lr * weight_decay)`` per member (:ref:`bg-weight-decay`).

    ``lr`` and ``weight_decay`` are ``(P,)``; ``weight_decay=None`` means no decay.
    """
    if weight_decay is None:
        return
    param.mul_(per_member(1.0 - lr * weight_decay, param))


class PopulationOptimizer:
    """Base class of the population optimizers (see the module docstring).

    Subclasses set ``name``, ``hyper_defaults``, ``hyper_rules`` and
    ``state_names`` and implement :meth:`_update`, which calls the algorithm's
    pure step function on one parameter tensor.

    Args:
        params: tensors with a leading member axis ``P`` (same ``P``, dtype and
            device); typically one flat ``(P, N)`` leaf tensor.
        **hypers: hyperparameters by name, each a float (shared by all members),
            a list of ``P`` floats or a ``(P,)`` tensor. Missing ones take
            ``hyper_defaults``.

    Attributes:
        hypers: ``dict[str, Tensor]`` of ``(P,)`` tensors in the parameters'
            dtype and device. They are mutable per member
            (``opt.hypers["lr"][3] = 0.01``); use :meth:`set_hyper` to replace
            all values with validation.
        state: one dict per parameter tensor, created lazily on its first step:
            ``"step"`` (a ``(P,)`` int64 counter of the updates each member has
            taken) and the algorithm's buffers (``state_names``), each shaped
            like the parameter.
    """

    name: ClassVar[str] = ""
    hyper_defaults: ClassVar[dict[str, float]] = {}
    hyper_rules: ClassVar[dict[str, Rule]] = {}
    state_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Sequence[torch.Tensor] | torch.Tensor, **hypers: Any) -> None:
        if isinstance(params, torch.Tensor):
            params = [params]
        self.params: list[torch.Tensor] = list(params)
        if not self.params:
            raise CaviarError(f"{self.name}: no parameters to optimize")
        first = self.params[0]
        for p in self.params:
            if not isinstance(p, torch.Tensor) or p.dim() < 1:
                raise CaviarError(
                    f"{self.name}: parameters must be tensors with a leading member axis"
                )
            if not p.is_floating_point():
                raise CaviarError(f"{self.name}: parameters must be floating point, got {p.dtype}")
            if p.shape[0] != first.shape[0] or p.dtype != first.dtype or p.device != first.device:
                raise CaviarError(
                    f"{self.name}: all parameters must share the member axis, dtype and device "
                    f"(got {tuple(p.shape)} {p.dtype} {p.device} and "
                    f"{tuple(first.shape)} {first.dtype} {first.device})"
                )
        self.size: int = int(first.shape[0])
        self.dtype: torch.dtype = first.dtype
        self.device: torch.device = first.device

        unknown = sorted(set(hypers) - set(self.hyper_defaults))
        if unknown:
            raise CaviarError(
                f"{self.name}: unknown hyperparameter {unknown[0]!r} "
                f"(expected: {', '.join(self.hyper_defaults)})"
            )
        self.hypers: dict[str, torch.Tensor] = {}
        for hname, default in self.hyper_defaults.items():
            self.hypers[hname] = self._member_tensor(hname, hypers.get(hname, default))
        self.validate_hypers()

        self.state: list[dict[str, torch.Tensor]] = [{} for _ in self.params]
        self._scratch: list[torch.Tensor | None] = [None for _ in self.params]

    # ------------------------------------------------------------------ hypers

    def _member_tensor(self, hname: str, value: Any) -> torch.Tensor:
        try:
            t = as_member_tensor(value, self.size, dtype=self.dtype, device=self.device, name=hname)
        except ValueError as exc:
            raise CaviarError(f"{self.name}: {exc}") from None
        except (TypeError, RuntimeError):
            raise CaviarError(
                f"{self.name}: {hname} must be a number, a list of numbers or a tensor, "
                f"got {value!r}"
            ) from None
        return t

    def validate_hypers(self) -> None:
        """Check every member's hyperparameters; raise :class:`CaviarError` on the first bad one
        (:func:`caviar.optim.rules.check_hypers`)."""
        check_hypers(self.name, self.hypers, self.hyper_rules, self.size)

    def set_hyper(self, name: str, value: float | list[float] | torch.Tensor) -> None:
        """Replace all members' values of one hyperparameter, with validation.

        The values are copied into the existing tensor, so references to
        ``opt.hypers[name]`` stay valid.
        """
        if name not in self.hypers:
            raise CaviarError(
                f"{self.name}: unknown hyperparameter {name!r} "
                f"(expected: {', '.join(self.hyper_defaults)})"
            )
        old = self.hypers[name].clone()
        self.hypers[name].copy_(self._member_tensor(name, value))
        try:
            self.validate_hypers()
        except CaviarError:
            self.hypers[name].copy_(old)
            raise

    # ------------------------------------------------------------------- state

    def _init_state(self, p: torch.Tensor) -> dict[str, torch.Tensor]:
        return init_state(p, self.size, self.state_names)

    #: The algorithm's pure step function, called as
    #: ``step_fn(param, grad, *state buffers (state_names order), step, lr=, **hypers,
    #: [scratch=], **options())``.
    step_fn: ClassVar[Callable[..., None]]
    #: Hypers passed as ``None`` when zero for every member, so their terms are skipped.
    skippable_hypers: ClassVar[frozenset[str]] = frozenset({"weight_decay", "dampening"})
    #: Whether ``step_fn`` takes a preallocated ``scratch`` buffer shaped like the param.
    uses_scratch: ClassVar[bool] = False

    def _update(
        self,
        param: torch.Tensor,
        grad: torch.Tensor,
        state: dict[str, torch.Tensor],
        hypers: dict[str, torch.Tensor],
        lr: torch.Tensor,
        scratch: torch.Tensor | None,
    ) -> None:
        """Apply one update in place to ``param`` and ``state`` (all members given)."""
        kwargs: dict[str, Any] = {
            name: self._decay_or_none(v) if name in self.skippable_hypers else v
            for name, v in hypers.items()
            if name != "lr"
        }
        if self.uses_scratch:
            kwargs["scratch"] = scratch
        buffers = (state[name] for name in self.state_names)
        self.step_fn(param, grad, *buffers, state["step"], lr=lr, **kwargs, **self.options())

    @staticmethod
    def _decay_or_none(weight_decay: torch.Tensor) -> torch.Tensor | None:
        return weight_decay if bool((weight_decay != 0).any()) else None

    # -------------------------------------------------------------------- step

    def _member_mask(self, value: torch.Tensor | None, what: str) -> torch.Tensor | None:
        if value is None:
            return None
        if not isinstance(value, torch.Tensor):
            value = torch.as_tensor(value)
        if value.shape != (self.size,):
            raise CaviarError(
                f"{self.name}: {what} must have shape ({self.size},), got {tuple(value.shape)}"
            )
        return value.to(self.device)

    def _scaled_lr(self, lr_scale: torch.Tensor | float | None) -> torch.Tensor:
        """``eta = hypers["lr"] * lr_scale`` per member, ``(P,)``."""
        lr = self.hypers["lr"]
        if lr_scale is None:
            return lr
        if isinstance(lr_scale, torch.Tensor) and lr_scale.dim() > 0:
            scale = self._member_mask(lr_scale, "lr_scale")
            assert scale is not None
            return lr * scale.to(self.dtype)
        return lr * float(lr_scale)

    @torch.no_grad()
    def step(
        self,
        lr_scale: torch.Tensor | float | None = None,
        alive: torch.Tensor | None = None,
    ) -> None:
        """Update every parameter from its ``.grad`` (in place, under ``torch.no_grad``).

        Args:
            lr_scale: ``(P,)`` multiplier of ``hypers["lr"]`` (from a schedule)
                or a float shared by all members; ``None`` means 1.
            alive: ``(P,)`` bool; members with ``False`` are frozen (parameters,
                state and step counters unchanged, their gradients never read
                into anything that survives the step). ``None`` means all alive.

        A parameter whose ``.grad`` is ``None`` is skipped (as in
        ``torch.optim``): its values and state do not change.

        Frozen rows are restored or never read, never masked by multiplication
        (:mod:`caviar.optim.masked_step`): alive members get bitwise the same update as
        without a mask, and ``alive=None`` (or all ``True``) costs nothing.
        """
        lr = self._scaled_lr(lr_scale)
        rows = member_rows(self._member_mask(alive, "alive"), self.size)
        if rows is None:  # no member alive
            return
        for i, p in enumerate(self.params):
            grad = p.grad
            if grad is None:
                continue
            if grad.shape != p.shape:
                raise CaviarError(
                    f"{self.name}: gradient shape {tuple(grad.shape)} does not match "
                    f"parameter shape {tuple(p.shape)}"
                )
            if not self.state[i]:
                self.state[i] = self._init_state(p)
            masked_update(
                self._update,
                rows,
                p,
                grad,
                self.state[i],
                self.hypers,
                lr,
                self._scratch_for(i) if rows.alive is None else None,
            )

    def _scratch_for(self, i: int) -> torch.Tensor | None:
        """Parameter ``i``'s scratch buffer (allocated on first use), if ``step_fn`` takes one."""
        scratch = self._scratch[i]
        if scratch is None and self.uses_scratch:
            p = self.params[i]
            scratch = self._scratch[i] = torch.empty_like(p, memory_format=torch.contiguous_format)
        return scratch

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (like ``torch.optim.Optimizer.zero_grad``)."""
        for p in self.params:
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_()
                p.grad.zero_()

    # --------------------------------------------------------------------- PBT

    def copy_members(
        self, dst: torch.Tensor | Sequence[int], src: torch.Tensor | Sequence[int]
    ) -> None:
        """Copy optimizer state rows: member ``dst[j]`` gets member ``src[j]``'s state.

        Copies the moment buffers and the per-member step counters of every
        parameter tensor. Hyperparameters and parameters are not copied. Sources
        are read before anything is written, so ``dst`` and ``src`` may overlap.
        """
        copy_member_rows(
            self.state, dst, src, size=self.size, device=self.device, optimizer=self.name
        )

    # --------------------------------------------------------------- save/load

    def state_dict(self) -> dict[str, Any]:
        """A checkpointable snapshot: optimizer name, options, hypers and state (cloned)."""
        return {
            "optimizer": self.name,
            "options": self.options(),
            "hypers": {k: v.detach().clone() for k, v in self.hypers.items()},
            "state": snapshot(self.state),
        }

    def options(self) -> dict[str, Any]:
        """Non-tensor options of the algorithm (e.g. ``eps_inside_sqrt``)."""
        return {}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore hypers and state saved by :meth:`state_dict` of the same optimizer."""
        if state_dict.get("optimizer") != self.name:
            raise CaviarError(
                f"{self.name}: state dict is for optimizer {state_dict.get('optimizer')!r}"
            )
        if dict(state_dict.get("options", {})) != self.options():
            raise CaviarError(
                f"{self.name}: state dict options {state_dict.get('options')} "
                f"do not match {self.options()}"
            )
        hypers = state_dict["hypers"]
        if set(hypers) != set(self.hypers):
            raise CaviarError(
                f"{self.name}: state dict hypers {sorted(hypers)} do not match "
                f"{sorted(self.hypers)}"
            )
        new_states = checked_states(
            state_dict["state"],
            self.params,
            size=self.size,
            dtype=self.dtype,
            state_names=self.state_names,
            optimizer=self.name,
        )
        old_hypers = {k: v.clone() for k, v in self.hypers.items()}
        for k, v in hypers.items():
            self.hypers[k].copy_(self._member_tensor(k, v))
        try:
            self.validate_hypers()
        except CaviarError:
            for k, v in old_hypers.items():
                self.hypers[k].copy_(v)
            raise
        self.state = new_states

    def __repr__(self) -> str:
        return f"{type(self).__name__}(P={self.size}, hypers={list(self.hypers)})"
