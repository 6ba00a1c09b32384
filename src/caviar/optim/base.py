"""The population optimizer base class: per-member hyperparameters, alive mask, PBT copies.

Every optimizer in :mod:`caviar.optim` updates parameter tensors that carry a
leading member axis ``P`` (in practice one flat ``(P, N)`` leaf tensor, see
``docs/conventions.md``). Each continuous hyperparameter is a ``(P,)`` tensor, so
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
* Decoupled weight decay (seed 002 §9 "Decay": each step the weights are
  multiplied by a constant less than one), available on every optimizer as the
  ``weight_decay`` hyper: ``theta <- theta * (1 - eta * weight_decay)``, applied
  before the gradient step. This is exactly the convention of
  ``torch.optim.AdamW`` (Loshchilov & Hutter's decoupled decay with the decay
  scaled by the current learning rate).
* ``copy_members(dst, src)`` for population-based training: member ``dst[j]``
  gets member ``src[j]``'s optimizer state (moment buffers and step counter).
  Hyperparameters are not copied (PBT perturbs them separately).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import torch

from caviar.errors import CaviarError
from caviar.tensors import as_member_tensor, per_member

# ---------------------------------------------------------------------------
# Hyperparameter validation rules: (predicate on a (P,) tensor, phrase).
# ---------------------------------------------------------------------------

Rule = tuple[Callable[[torch.Tensor], torch.Tensor], str]

NON_NEGATIVE: Rule = (lambda v: v >= 0, "must be >= 0")
POSITIVE: Rule = (lambda v: v > 0, "must be > 0")
UNIT_INTERVAL: Rule = (lambda v: (v >= 0) & (v < 1), "must be in [0, 1)")
CLOSED_UNIT_INTERVAL: Rule = (lambda v: (v >= 0) & (v <= 1), "must be in [0, 1]")

_HYPER_LABELS = {
    "lr": "learning rate (lr)",
    "eps": "eps",
    "weight_decay": "weight_decay",
}


def decoupled_weight_decay_(
    param: torch.Tensor, lr: torch.Tensor, weight_decay: torch.Tensor | None
) -> None:
    """In place ``param <- param * (1 - lr * weight_decay)`` per member (seed 002 §9 "Decay").

    ``lr`` and ``weight_decay`` are ``(P,)``; ``weight_decay=None`` means no decay.
    """
    if weight_decay is None:
        return
    param.mul_(per_member(1.0 - lr * weight_decay, param))


def _format_value(v: float) -> str:
    return f"{v:g}"


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
        """Check every member's hyperparameters; raise :class:`CaviarError` on the first bad one."""
        for hname, t in self.hypers.items():
            label = _HYPER_LABELS.get(hname, hname)
            if t.shape != (self.size,):
                raise CaviarError(
                    f"{self.name}: {hname} must have shape ({self.size},), got {tuple(t.shape)}"
                )
            bad = ~torch.isfinite(t)
            rule = self.hyper_rules.get(hname)
            if rule is not None:
                bad |= ~rule[0](t)
            if bool(bad.any()):
                i = int(bad.nonzero()[0, 0])
                phrase = (
                    rule[1] if rule is not None and math.isfinite(float(t[i])) else "must be finite"
                )
                # Name the member only when the members' values differ.
                where = "" if bool((t == t[i]).all()) else f" (member {i})"
                raise CaviarError(
                    f"{self.name}: {label} {phrase}, got {_format_value(float(t[i]))}{where}"
                )

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
        state = {"step": torch.zeros(self.size, dtype=torch.int64, device=self.device)}
        for sname in self.state_names:
            state[sname] = torch.zeros_like(p, memory_format=torch.contiguous_format)
        return state

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

        Masking never multiplies by the mask (``NaN * 0`` is NaN). With few
        frozen members, the update runs on all rows and the frozen rows of the
        parameters and state are then copied back from a saved copy
        (``index_copy_``: the same result as ``torch.where(alive, new, old)`` at a
        cost proportional to the frozen rows). With more than half frozen, the
        alive rows are gathered, updated and scattered back, so frozen rows are
        not even read. Either way alive members get bitwise the same update as
        without a mask, and ``alive=None`` (or all ``True``) costs nothing.
        """
        lr = self._scaled_lr(lr_scale)
        alive_t = self._member_mask(alive, "alive")
        frozen_idx: torch.Tensor | None = None
        alive_idx: torch.Tensor | None = None
        if alive_t is not None:
            alive_t = alive_t.to(torch.bool)
            n_alive = int(alive_t.sum())
            if n_alive == 0:
                return
            if n_alive < self.size:
                # Few frozen members: update everyone, then copy the frozen rows
                # back (cost ~ frozen rows). Many frozen: update only the alive
                # rows on gathered copies and scatter them back (cost ~ alive rows).
                if 2 * n_alive >= self.size:
                    frozen_idx = (~alive_t).nonzero().squeeze(1)
                else:
                    alive_idx = alive_t.nonzero().squeeze(1)

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
            state = self.state[i]

            if alive_idx is not None:
                sub_p = p.index_select(0, alive_idx)
                sub_state = {k: v.index_select(0, alive_idx) for k, v in state.items()}
                sub_hypers = {k: v.index_select(0, alive_idx) for k, v in self.hypers.items()}
                self._update(
                    sub_p,
                    grad.index_select(0, alive_idx),
                    sub_state,
                    sub_hypers,
                    lr.index_select(0, alive_idx),
                    None,
                )
                p.index_copy_(0, alive_idx, sub_p)
                for k, v in state.items():
                    v.index_copy_(0, alive_idx, sub_state[k])
                continue

            saved: dict[str, torch.Tensor] = {}
            saved_p: torch.Tensor | None = None
            if frozen_idx is not None:
                saved_p = p.index_select(0, frozen_idx)
                saved = {k: v.index_select(0, frozen_idx) for k, v in state.items()}
            scratch = self._scratch[i]
            if scratch is None and self.uses_scratch:
                scratch = self._scratch[i] = torch.empty_like(
                    p, memory_format=torch.contiguous_format
                )
            self._update(p, grad, state, self.hypers, lr, scratch)
            if frozen_idx is not None:
                assert saved_p is not None
                p.index_copy_(0, frozen_idx, saved_p)
                for k, v in state.items():
                    v.index_copy_(0, frozen_idx, saved[k])

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
        dst_t = torch.as_tensor(dst, dtype=torch.int64, device=self.device).reshape(-1)
        src_t = torch.as_tensor(src, dtype=torch.int64, device=self.device).reshape(-1)
        if dst_t.shape != src_t.shape:
            raise CaviarError(
                f"{self.name}: copy_members needs as many sources as destinations, "
                f"got {src_t.numel()} and {dst_t.numel()}"
            )
        for t in (dst_t, src_t):
            if t.numel() and (int(t.min()) < 0 or int(t.max()) >= self.size):
                raise CaviarError(
                    f"{self.name}: member index out of range [0, {self.size}): {t.tolist()}"
                )
        if len(set(dst_t.tolist())) != dst_t.numel():
            raise CaviarError(f"{self.name}: copy_members destinations repeat: {dst_t.tolist()}")
        with torch.no_grad():
            for state in self.state:
                for v in state.values():
                    v.index_copy_(0, dst_t, v.index_select(0, src_t))

    # --------------------------------------------------------------- save/load

    def state_dict(self) -> dict[str, Any]:
        """A checkpointable snapshot: optimizer name, options, hypers and state (cloned)."""
        return {
            "optimizer": self.name,
            "options": self.options(),
            "hypers": {k: v.detach().clone() for k, v in self.hypers.items()},
            "state": [{k: v.detach().clone() for k, v in s.items()} for s in self.state],
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
        states = list(state_dict["state"])
        if len(states) != len(self.params):
            raise CaviarError(
                f"{self.name}: state dict has {len(states)} parameter states, "
                f"expected {len(self.params)}"
            )
        new_states: list[dict[str, torch.Tensor]] = []
        for p, s in zip(self.params, states, strict=True):
            if not s:
                new_states.append({})
                continue
            expected = {"step", *self.state_names}
            if set(s) != expected:
                raise CaviarError(
                    f"{self.name}: state dict buffers {sorted(s)} do not match {sorted(expected)}"
                )
            new: dict[str, torch.Tensor] = {}
            for k, v in s.items():
                shape = (self.size,) if k == "step" else p.shape
                if tuple(v.shape) != tuple(shape):
                    raise CaviarError(
                        f"{self.name}: state buffer {k!r} has shape {tuple(v.shape)}, "
                        f"expected {tuple(shape)}"
                    )
                dtype = torch.int64 if k == "step" else self.dtype
                new[k] = v.detach().to(device=self.device, dtype=dtype).clone()
            new_states.append(new)
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
