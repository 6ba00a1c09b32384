"""What follows each epoch's validation step in the first-order trainer, in one place:
the plateau schedule sees the validated loss (:mod:`caviar.schedules.plateau`) and
members that reached their training-loss threshold stop (:mod:`caviar.training.stop_loss`),
and the folds of a cross-validated configuration stop together (:mod:`caviar.training.folds`).
:class:`EndOfEpochRules` is the trainer's default hook that runs them
(``on_validation_end``, :mod:`caviar.training.hooks`).
"""

from __future__ import annotations

from caviar.schedules.plateau import observe_epoch
from caviar.training.folds import stop_groups
from caviar.training.hooks import Hook, HookState
from caviar.training.stop_loss import stop_on_train_loss


def after_validation(trainer, validated: bool) -> None:
    """Run the end-of-epoch rules; ``validated``: this epoch had a validation pass."""
    if validated:
        observe_epoch(trainer)
    stop_on_train_loss(trainer)
    stop_groups(trainer)


class EndOfEpochRules(Hook):
    """Default hook: :func:`after_validation` once an epoch's validation is recorded
    (``validated``: the epochs ``train.validate_every`` selects)."""

    def on_validation_end(self, state: HookState) -> None:
        trainer = state.trainer
        after_validation(trainer, trainer.cadence.due(trainer.epoch))
