"""Snapshot ensembles' weights, a default hook of the first-order trainer
(:mod:`caviar.training.ensemble` builds the ensemble from them).

With ``ensemble.snapshot_every = k`` every member's weights and batch-norm statistics
are copied after every ``k``-th epoch (``(epoch + 1) % k == 0``) into
``trainer.snapshots`` as ``(epoch, flat (P, N), stats (P, S))``.
"""

from __future__ import annotations

from caviar.training.hooks import Hook, HookState


class Snapshots(Hook):
    """Default hook: append the population's weights every ``trainer.snapshot_every`` epochs."""

    def on_epoch_end(self, state: HookState) -> None:
        trainer = state.trainer
        every = trainer.snapshot_every
        if every is not None and (trainer.epoch + 1) % every == 0:
            trainer.snapshots.append(
                (trainer.epoch, trainer.model.flat.detach().clone(), trainer.model.stats.clone())
            )
