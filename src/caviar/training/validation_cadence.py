"""Validation cadence and subsample (:ref:`bg-validation`): validate every ``k`` epochs
on ``n`` seeded validation rows.

``train.validate_every = k``: the validation pass runs after epochs ``k-1, 2k-1, ...`` and
after the last epoch; the epochs in between record NaN validation loss and score. Early
stopping (``patience``), successive halving (rungs) and population-based training
(``interval``) count *validated* epochs, and the best epoch is chosen among the validated
ones, whose exact weights are restored.

``train.val_subsample = n``: the validation pass uses ``n`` rows of the validation split
drawn once without replacement from ``train.shuffle_seed`` -- the same rows for every
member (a population shares them, so members stay comparable). ``n`` at least the
split's size uses the whole split.
"""

from __future__ import annotations

import torch


class ValidationCadence:
    """Which epochs of ``epochs`` are validated with ``every = k``."""

    def __init__(self, every: int, epochs: int) -> None:
        self.every = int(every)
        self.epochs = int(epochs)

    def due(self, epoch: int) -> bool:
        """True when epoch ``epoch`` (0-based) ends with a validation."""
        return (epoch + 1) % self.every == 0 or epoch + 1 == self.epochs

    def count(self, epoch: int) -> int:
        """Validations done once epoch ``epoch`` is over."""
        n = epoch + 1
        return n // self.every + (1 if n == self.epochs and n % self.every else 0)

    @property
    def total(self) -> int:
        """Validations in a full run."""
        return self.count(self.epochs - 1)


def cadence_of(trainer) -> ValidationCadence:
    """The trainer's cadence (every epoch for trainers without one, e.g. full-batch)."""
    cadence = getattr(trainer, "cadence", None)
    return cadence if cadence is not None else ValidationCadence(1, trainer.epochs)


def subsample_rows(n_val: int, n: int | None, seed: int) -> torch.Tensor | None:
    """Row indices of the validation subsample (sorted), or None for the whole split."""
    if n is None or n >= n_val:
        return None
    gen = torch.Generator().manual_seed(int(seed))
    return torch.randperm(n_val, generator=gen)[:n].sort().values


def subsample_validation(tensors, n: int | None, seed: int, weights=None):
    """``tensors`` with its validation split cut to the seeded subsample of ``n`` rows, and
    the validation rows' ``weights`` (or None) cut the same way: ``(tensors, weights)``."""
    rows = subsample_rows(tensors.x_val.shape[0], n, seed)
    if rows is not None:
        rows = rows.to(tensors.x_val.device)
        tensors.x_val = tensors.x_val.index_select(0, rows)
        tensors.y_val = tensors.y_val.index_select(0, rows)
        if weights is not None:
            weights = weights.index_select(0, rows.to(weights.device))
    return tensors, weights
