"""Callbacks for :func:`caviar.train` and :func:`caviar.tune`, with Keras's hook names.

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

They run in the training loop through the trainer's own callback list (the one
successive halving and PBT use), so a callback sees every population of a run in turn.
In :func:`caviar.tune` ``logs.members`` are trial indices (the leaderboard's ``trial``)
of the rows still in the population (compaction drops stopped rows); populations
trained side by side call the hooks one at a time (:mod:`caviar.tuning.tune_callbacks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import torch

from caviar.trial import Trial


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
    _trainer: object | None = field(default=None, repr=False)

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


def epoch_hook(callbacks: Sequence[Callback], population: int, members: list[int], lock=None):
    """A trainer callback ``fn(trainer)`` that calls every ``on_epoch_end``; ``members``
    names the population's rows at the start (a compacted trainer's ``member_ids`` say
    which rows are left); the hooks run holding ``lock``."""

    def hook(trainer) -> None:
        rows = getattr(trainer, "member_ids", range(trainer.size))
        logs = PopulationLogs(
            population,
            [members[r] for r in rows],
            *(_last(trainer, k) for k in ("val_loss", "val_score", "train_loss", "train_score")),
            alive=trainer.alive.cpu().numpy().copy(),
            _trainer=trainer,
        )
        with lock or nullcontext():
            for cb in callbacks:
                cb.on_epoch_end(trainer.epoch, logs)

    return hook


def end_logs(population: int, members: list[int], results: Sequence) -> PopulationLogs:
    """The ``on_population_end`` logs of finished members (``MemberResult`` s)."""
    return PopulationLogs(
        population,
        list(members),
        *(np.array([getattr(m, k) for m in results], dtype=float) for k in
          ("val_loss", "val_score", "train_loss", "train_score")),
        alive=np.zeros(len(results), dtype=bool),
        status=[m.status for m in results],
    )  # fmt: skip


def population_end(
    callbacks: Sequence[Callback], population: int, result, trials: Sequence[Trial]
) -> None:
    """Call every ``on_population_end`` with a finished population's results, then
    ``on_trial_complete`` with each member's :class:`~caviar.trial.Trial` (``trials``,
    configuration order)."""
    ms = result.members
    logs = end_logs(population, [m.index for m in ms], ms)
    for cb in callbacks:
        cb.on_population_end(logs)
    for t in sorted(trials, key=lambda t: t.number):
        for cb in callbacks:
            cb.on_trial_complete(t)
