"""Callbacks for :func:`caviar.train`, with Keras's hook names.

A callback subclasses :class:`Callback` and overrides what it needs:

* ``on_epoch_end(epoch, logs)`` after every epoch's validation and early stopping
  (``epoch`` counts from 0, as in Keras); ``logs`` is a :class:`PopulationLogs`:
  per-member arrays ``(P,)`` of the epoch (``val_loss``, ``val_score``, ``train_loss``,
  ``train_score``, ``alive``) and the configuration index of each member;
  ``logs.stop(members)`` stops members for good (status ``pruned``, their best weights
  kept), ``logs.stop()`` stops the whole population;
* ``on_population_end(logs)`` once a population has finished (best weights restored),
  with the same arrays at each member's best epoch and its ``status``.

They run in the training loop through the trainer's own callback list (the one
successive halving and PBT use), so a callback sees every population of a run in turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch


@dataclass
class PopulationLogs:
    """One population's per-member numbers; ``members[p]`` is member ``p``'s index in
    the run's list of configurations."""

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


def _last(trainer, key: str) -> np.ndarray:
    return trainer.history[key][-1].detach().cpu().double().numpy()


def epoch_hook(callbacks: Sequence[Callback], population: int, members: list[int]):
    """A trainer callback ``fn(trainer)`` that calls every ``on_epoch_end``."""

    def hook(trainer) -> None:
        logs = PopulationLogs(
            population,
            list(members),
            *(_last(trainer, k) for k in ("val_loss", "val_score", "train_loss", "train_score")),
            alive=trainer.alive.cpu().numpy().copy(),
            _trainer=trainer,
        )
        for cb in callbacks:
            cb.on_epoch_end(trainer.epoch, logs)

    return hook


def population_end(callbacks: Sequence[Callback], population: int, result) -> None:
    """Call every ``on_population_end`` with a finished population's results."""
    ms = result.members
    logs = PopulationLogs(
        population,
        [m.index for m in ms],
        *(np.array([getattr(m, k) for m in ms]) for k in
          ("val_loss", "val_score", "train_loss", "train_score")),
        alive=np.zeros(len(ms), dtype=bool),
        status=[m.status for m in ms],
    )  # fmt: skip
    for cb in callbacks:
        cb.on_population_end(logs)
