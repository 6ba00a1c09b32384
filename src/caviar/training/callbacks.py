"""Keras-style callbacks for :func:`caviar.train` and :func:`caviar.tune`, a thin
adapter over the one hook protocol (:mod:`caviar.training.hooks`).

A callback subclasses :class:`Callback` and overrides what it needs:

* ``on_epoch_end(epoch, logs)`` after every epoch's validation and early stopping
  (``epoch`` counts from 0, as in Keras); ``logs`` is a :class:`PopulationLogs`:
  per-member arrays ``(P,)`` of the epoch (``val_loss``, ``val_score``, ``train_loss``,
  ``train_score``, ``alive``) and the configuration index of each member;
  ``logs.stop(members)`` stops members for good (status ``pruned``, their best weights
  kept), ``logs.stop()`` stops the whole population;
* ``on_population_end(logs)`` once a population has finished (best weights restored),
  with the same arrays at each member's best epoch and its ``status``;
* ``on_trial_complete(trial)`` once per trial, with the one trial record of both
  trainers, :class:`caviar.trial.Trial` (``number``, ``params``, ``value`` = the
  validation score the leaderboard ranks, ``state``, ``best_epoch``, ``epochs_run``,
  ``history``, ``user_attrs``, ``timings``): in :func:`caviar.train` each member after
  its population's end, in configuration order (``number`` = its configuration's
  index, ``params`` = the fields the run varies); in :func:`caviar.tune` each trial once
  it is in the study (``number`` = the trial index).

:class:`KerasAdapter` turns such a callback (or any object with these three methods)
into a :class:`~caviar.training.hooks.Hook`: each protocol hook builds the Keras
arguments from the :class:`~caviar.training.hooks.HookState` (one ``logs`` object per
epoch, shared by the callbacks of a population). They run in the training loop among
the trainer's hooks (beside successive halving and PBT), so a callback sees every
population of a run in turn. In :func:`caviar.tune` ``logs.members`` are trial indices
(the leaderboard's ``trial``) of the rows still in the population (compaction drops
stopped rows); populations trained side by side call the hooks one at a time
(:mod:`caviar.tuning.tune_callbacks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from caviar.training.hooks import Hook, HookState, notify, notify_trial
from caviar.trial import Trial

if TYPE_CHECKING:
    from caviar.training.controls import PopulationControls


@dataclass
class PopulationLogs:
    """One population's per-member numbers; ``members[p]`` is member ``p``'s index in
    the run's list of configurations (:func:`caviar.tune`: its trial index)."""

    population: int
    members: list[int]
    val_loss: np.ndarray
    val_score: np.ndarray
    train_loss: np.ndarray
    train_score: np.ndarray
    alive: np.ndarray
    status: list[str] = field(default_factory=list)  # on_population_end only
    _trainer: PopulationControls | None = field(default=None, repr=False)

    def stop(self, members: Sequence[int] | None = None) -> None:
        """Stop the members with these configuration indices (all of them: None)."""
        if self._trainer is None:
            raise RuntimeError("members can only be stopped during training (on_epoch_end)")
        wanted = set(self.members if members is None else members)
        mask = torch.tensor([m in wanted for m in self.members])
        self._trainer.prune(mask)
        self.alive = self.alive & ~mask.numpy()


class Callback:
    """Base class: every hook does nothing."""

    def on_epoch_end(self, epoch: int, logs: PopulationLogs) -> None:
        """After epoch ``epoch`` (from 0) of one population."""

    def on_population_end(self, logs: PopulationLogs) -> None:
        """After a population finished, with each member's numbers at its best epoch."""

    def on_trial_complete(self, trial: Trial) -> None:
        """Once per trial (a member of :func:`caviar.train`, a stored trial of
        :func:`caviar.tune`): its :class:`caviar.trial.Trial`."""


def _last(trainer, key: str) -> np.ndarray:
    return trainer.history[key][-1].detach().cpu().double().numpy()


def epoch_logs(state: HookState) -> PopulationLogs:
    """The ``on_epoch_end`` logs of the epoch ``state`` is at (its population's rows)."""
    trainer = state.trainer
    return PopulationLogs(
        state.population if state.population is not None else 0,
        list(state.members),
        val_loss=_last(trainer, "val_loss"),
        val_score=_last(trainer, "val_score"),
        train_loss=_last(trainer, "train_loss"),
        train_score=_last(trainer, "train_score"),
        alive=trainer.alive.cpu().numpy().copy(),
        _trainer=trainer,
    )


def end_logs(population: int, members: list[int], results: Sequence) -> PopulationLogs:
    """The ``on_population_end`` logs of finished members (``MemberResult`` s)."""

    def column(key: str) -> np.ndarray:
        return np.array([getattr(m, key) for m in results], dtype=float)

    return PopulationLogs(
        population,
        list(members),
        val_loss=column("val_loss"),
        val_score=column("val_score"),
        train_loss=column("train_loss"),
        train_score=column("train_score"),
        alive=np.zeros(len(results), dtype=bool),
        status=[m.status for m in results],
    )


class KerasAdapter(Hook):
    """Adapter: a Keras-style callback (:class:`Callback`, or an object with its three
    methods) as a :class:`~caviar.training.hooks.Hook`."""

    def __init__(self, callback: Any) -> None:
        self.callback = callback

    def listens(self, name: str) -> bool:
        """Whether the callback does something on ``name`` (a :class:`Callback` that does
        not override that method does nothing; other objects are asked every time)."""
        if name not in ("on_epoch_end", "on_population_end", "on_trial_complete"):
            return False
        own = getattr(type(self.callback), name, None)
        return not isinstance(self.callback, Callback) or own is not getattr(Callback, name)

    def on_epoch_end(self, state: HookState) -> None:
        logs = state.memo.get("keras_logs")
        if logs is None:
            logs = state.memo["keras_logs"] = epoch_logs(state)
        self.callback.on_epoch_end(state.epoch, logs)

    def on_population_end(self, state: HookState) -> None:
        logs = state.memo.get("keras_end_logs")
        if logs is None:
            population = state.population if state.population is not None else 0
            logs = end_logs(population, state.members, state.results)
            state.memo["keras_end_logs"] = logs
        self.callback.on_population_end(logs)

    def on_trial_complete(self, trial: Trial, state: HookState) -> None:
        self.callback.on_trial_complete(trial)


def user_hooks(callbacks: Sequence[Any]) -> list[Hook]:
    """:func:`caviar.train`'s ``callbacks`` as hooks: a :class:`~caviar.training.hooks.Hook`
    as it is, a Keras-style callback through :class:`KerasAdapter`."""
    return [cb if isinstance(cb, Hook) else KerasAdapter(cb) for cb in callbacks]


def population_end(hooks: Sequence[Hook], population: int, result, trials: Sequence[Trial]) -> None:
    """Call every ``on_population_end`` with a finished population's results, then
    ``on_trial_complete`` with each member's :class:`~caviar.trial.Trial` (``trials``,
    configuration order)."""
    ms = result.members
    state = HookState("train", population=population, members=[m.index for m in ms], results=ms)
    notify(hooks, "on_population_end", state)
    for t in sorted(trials, key=lambda t: t.number):
        notify_trial(hooks, t, HookState("train", population=population))
