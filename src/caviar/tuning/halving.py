"""Successive halving as a trainer callback (Jamieson & Talwalkar 2016; Li et al. 2018).

Rungs are at ``r, r*eta, r*eta^2, ...`` epochs (rounded). After the epoch that
completes a rung, the members still alive are ranked by their best validation
score so far and only the best ``ceil(n_alive / eta)`` stay alive; the others
stop for good (``trainer.prune``, status ``pruned``). No checkpoint files: the
pruned members simply stop changing inside the population. With
``train.validate_every = k`` the rungs count validated epochs. With cross-validation
(``search.cv``) the unit is a configuration: its folds are ranked by the best of their
mean curve and kept or pruned together (:mod:`caviar.training.folds`).
"""

from __future__ import annotations

import math

import torch

from caviar.training.folds import fold_mean
from caviar.training.hooks import TrainerCallback
from caviar.training.validation_cadence import cadence_of


def rungs(min_epochs: int, eta: float, epochs: int) -> list[int]:
    """Epoch counts ``round(r * eta^i)`` below ``epochs`` (strictly increasing)."""
    out: list[int] = []
    i = 0
    while True:
        r = int(round(min_epochs * eta**i))
        if r >= epochs:
            return out
        if not out or r > out[-1]:
            out.append(r)
        i += 1


class SuccessiveHalving(TrainerCallback):
    """Hook (``on_epoch_end``, :mod:`caviar.training.hooks`): prune all but the best
    ``1/eta`` of the live members at every rung."""

    def __init__(self, min_epochs: int = 2, eta: float = 3.0) -> None:
        self.min_epochs = min_epochs
        self.eta = eta

    def __call__(self, trainer) -> None:
        cadence = cadence_of(trainer)  # rungs count validated epochs (train.validate_every)
        if not cadence.due(trainer.epoch):
            return
        if cadence.count(trainer.epoch) not in rungs(self.min_epochs, self.eta, cadence.total):
            return
        group = getattr(trainer, "fold_group", None)  # folds of one configuration: a unit
        unit = (
            group if group is not None else torch.arange(trainer.size, device=trainer.alive.device)
        )
        first = torch.ones_like(unit, dtype=torch.bool)
        first[1:] = unit[1:] != unit[:-1]  # a unit's members are consecutive rows
        alive = trainer.alive[first]
        n_alive = int(alive.sum())
        keep = math.ceil(n_alive / self.eta)
        if n_alive <= keep:
            return
        curves = [fold_mean(trainer, s) for s in trainer.history["val_score"]]
        scores = torch.stack(curves).nan_to_num(nan=-math.inf)
        best = scores.max(dim=0).values[first]
        best = torch.where(alive, best, torch.full_like(best, -math.inf))
        order = torch.argsort(best, descending=True, stable=True)
        survivors = torch.zeros_like(alive)
        survivors[order[:keep]] = True
        trainer.prune(trainer.alive & ~survivors[unit])
