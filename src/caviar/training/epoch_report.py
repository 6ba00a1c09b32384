"""The per-epoch progress report, the last default hook of both population trainers.

After every epoch it calls ``trainer.on_epoch(epoch, epochs, alive, best)`` (when set):
the epochs done (from 1), the population's epoch count, the members still alive and the
best validation score of the epoch (the mean over a cross-validated configuration's
folds; NaN when no member has a finite one). The progress bars of
:mod:`caviar.progress` and a search's epoch hook listen there.
"""

from __future__ import annotations

import torch

from caviar.training.folds import fold_mean
from caviar.training.hooks import Hook, HookState


def epoch_summary(trainer) -> tuple[int, int, int, float]:
    """``(epoch + 1, epochs, members alive, best validation score)`` of the epoch just run."""
    scores = fold_mean(trainer, trainer.history["val_score"][-1])
    finite = scores[torch.isfinite(scores)]
    best = float(finite.max()) if finite.numel() else float("nan")
    return trainer.epoch + 1, trainer.epochs, int(trainer.alive.sum()), best


class EpochReport(Hook):
    """Default hook: tell ``trainer.on_epoch`` the epoch's summary (module docstring)."""

    def on_epoch_end(self, state: HookState) -> None:
        on_epoch = state.trainer.on_epoch
        if on_epoch is not None:
            on_epoch(*epoch_summary(state.trainer))
