"""One hook protocol for both trainers, as skorch's ``notify`` with default callbacks.

A :class:`Hook` overrides the hook methods it needs; every other one does nothing. Each
hook receives one small :class:`HookState` (``on_trial_complete`` also the
:class:`caviar.trial.Trial`):

* ``on_train_begin(state)`` / ``on_train_end(state)``: once per :func:`caviar.train` or
  :func:`caviar.tune` run, before the first population and after the last;
* ``on_batches_end(state)``: after an epoch's last mini-batch, before validation;
* ``on_validation_end(state)``: after an epoch's validation and early stopping;
* ``on_epoch_end(state)``: at the end of every epoch of a population (``state.epoch``
  counts from 0); ``state.stop(members)`` stops members for good (status ``pruned``);
* ``on_population_end(state)``: once a population has finished (best weights restored;
  ``state.results``: each member's result);
* ``on_trial_complete(trial, state)``: once per finished member of :func:`caviar.train`
  or stored trial of :func:`caviar.tune`, with the one trial record of both.

A population trainer calls :func:`notify` on its own hook list: the *default hooks*
(the gradient monitor on ``on_batches_end``, the end-of-epoch rules on
``on_validation_end``; snapshots, the callbacks it was given, then the progress report on
``on_epoch_end``). The callbacks it is given are hooks (successive halving, PBT, the time
budget and panda mode's controls are :class:`TrainerCallback` s) or plain functions
``fn(trainer)``, which :class:`TrainerFunction` adapts. :func:`caviar.train` and
:func:`caviar.tune` bind the user's hooks to each population with
:class:`PopulationHooks`, so that ``state.members`` names the run's configurations
(train) or trials (tune) in both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch

from caviar.trial import Trial

#: the hook methods of the protocol, in the order a run reaches them
HOOK_NAMES = (
    "on_train_begin",
    "on_batches_end",
    "on_validation_end",
    "on_epoch_end",
    "on_population_end",
    "on_trial_complete",
    "on_train_end",
)


@dataclass
class HookState:
    """Where a run is, as every hook sees it.

    ``kind`` is ``"train"`` or ``"tune"``; ``trainer`` the running population trainer
    (None outside a population); ``population`` its number in the run; ``members[r]``
    the configuration index (train) or trial index (tune) of the population's row ``r``;
    ``results`` each member's :class:`~caviar.training.result.MemberResult` (in
    ``on_population_end``); ``study`` and ``frozen`` the Optuna study and the trial's
    ``FrozenTrial`` (``on_trial_complete`` of :func:`caviar.tune`, else None).
    """

    kind: str = "train"
    trainer: Any = None
    population: int | None = None
    members: list[int] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)
    study: Any = None
    frozen: Any = None
    memo: dict[str, Any] = field(default_factory=dict, repr=False)  # adapters' per-call cache

    @property
    def epoch(self) -> int:
        """The epoch just run, from 0 (-1 outside a population)."""
        return -1 if self.trainer is None else int(self.trainer.epoch)

    @property
    def epochs(self) -> int:
        """The population's epoch count (0 outside a population)."""
        return 0 if self.trainer is None else int(self.trainer.epochs)

    def stop(self, members: Sequence[int] | None = None) -> None:
        """Stop the rows of these configuration (trial) indices for good, status
        ``pruned``, their best weights kept (None: the whole population)."""
        if self.trainer is None:
            raise RuntimeError("members can only be stopped during training (on_epoch_end)")
        wanted = set(self.members if members is None else members)
        mask = torch.tensor([m in wanted for m in self.members])
        self.trainer.prune(mask)


class Hook:
    """Base class of the protocol (module docstring): every hook does nothing."""

    def listens(self, name: str) -> bool:
        """Whether this hook does something on ``name`` (its class overrides the no-op;
        an adapter asks what it wraps). Callers skip work no hook would read."""
        return getattr(type(self), name, None) is not getattr(Hook, name, None)

    def on_train_begin(self, state: HookState) -> None:
        """Once, before the run's first population."""

    def on_batches_end(self, state: HookState) -> None:
        """After an epoch's last mini-batch, before its validation."""

    def on_validation_end(self, state: HookState) -> None:
        """After an epoch's validation and early stopping."""

    def on_epoch_end(self, state: HookState) -> None:
        """At the end of epoch ``state.epoch`` (from 0) of one population."""

    def on_population_end(self, state: HookState) -> None:
        """After a population finished, with each member's result in ``state.results``."""

    def on_trial_complete(self, trial: Trial, state: HookState) -> None:
        """Once per finished member (train) or stored trial (tune): its record."""

    def on_train_end(self, state: HookState) -> None:
        """Once, after the run's last population."""


def notify(hooks: Sequence[Hook], name: str, state: HookState) -> None:
    """Call hook ``name`` of every hook, in order, with ``state``."""
    for hook in hooks:
        getattr(hook, name)(state)


def notify_trial(hooks: Sequence[Hook], trial: Trial, state: HookState) -> None:
    """Call every ``on_trial_complete`` with ``trial`` and ``state``."""
    for hook in hooks:
        hook.on_trial_complete(trial, state)


class TrainerFunction(Hook):
    """Adapter: a trainer callback ``fn(trainer)`` called at every epoch's end."""

    def __init__(self, fn: Callable[[Any], None]) -> None:
        self.fn = fn

    def on_epoch_end(self, state: HookState) -> None:
        self.fn(state.trainer)


class TrainerCallback(Hook):
    """A hook that is also a trainer callback ``self(trainer)`` run at every epoch's end
    (successive halving, PBT, the time budget, panda mode's controls): subclasses
    define ``__call__``; tests and replays may call it directly."""

    def __call__(self, trainer: Any) -> None:
        raise NotImplementedError

    def on_epoch_end(self, state: HookState) -> None:
        self(state.trainer)


def as_hooks(callbacks: Sequence[Hook | Callable[[Any], None]]) -> list[Hook]:
    """Trainer callbacks as hooks: a :class:`Hook` as it is, a function adapted."""
    return [cb if isinstance(cb, Hook) else TrainerFunction(cb) for cb in callbacks]


#: the hooks a trainer calls during an epoch (the others are called outside a trainer)
EPOCH_HOOKS = ("on_batches_end", "on_validation_end", "on_epoch_end")


class PopulationHooks(Hook):
    """Default hook of a population of :func:`caviar.train` / :func:`caviar.tune`: calls
    the user's ``hooks`` (their :data:`EPOCH_HOOKS`) with the state of the run
    (``population``; ``members``: the configuration or trial of each row still in the
    population, as compaction leaves them), holding ``lock`` (populations trained side
    by side call them one at a time)."""

    def __init__(
        self,
        hooks: Sequence[Hook],
        population: int,
        members: list[int],
        kind: str = "train",
        lock: threading.Lock | None = None,
    ) -> None:
        self.hooks = {name: [h for h in hooks if h.listens(name)] for name in EPOCH_HOOKS}
        self.population, self.members, self.kind, self.lock = population, members, kind, lock

    def _forward(self, name: str, state: HookState) -> None:
        if not self.hooks[name]:
            return
        trainer = state.trainer
        rows = getattr(trainer, "member_ids", range(trainer.size))
        bound = HookState(self.kind, trainer, self.population, [self.members[r] for r in rows])
        with self.lock or nullcontext():
            notify(self.hooks[name], name, bound)

    def on_batches_end(self, state: HookState) -> None:
        self._forward("on_batches_end", state)

    def on_validation_end(self, state: HookState) -> None:
        self._forward("on_validation_end", state)

    def on_epoch_end(self, state: HookState) -> None:
        self._forward("on_epoch_end", state)


def population_hooks(
    hooks: Sequence[Hook],
    population: int,
    members: list[int],
    kind: str = "train",
    lock: threading.Lock | None = None,
) -> list[Hook]:
    """``[PopulationHooks(...)]`` for a population's trainer, ``[]`` when no hook has
    anything to do during an epoch (no per-epoch state is then built)."""
    if not any(h.listens(name) for h in hooks for name in EPOCH_HOOKS):
        return []
    return [PopulationHooks(hooks, population, members, kind, lock)]


__all__ = [
    "EPOCH_HOOKS",
    "HOOK_NAMES",
    "TrainerCallback",
    "Hook",
    "HookState",
    "PopulationHooks",
    "TrainerFunction",
    "as_hooks",
    "notify",
    "notify_trial",
    "population_hooks",
]
