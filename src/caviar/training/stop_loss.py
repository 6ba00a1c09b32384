"""Stopping on a training-error threshold (:ref:`bg-early-stopping`), per member.

Stop when the training error falls to a threshold: with ``train.stop_loss = e_p`` a
member stops (status ``early_stopped``) after the first epoch whose mean training loss
is ``<= e_p``:

    stop_p  <=>  alive_p  and  L_train,p(epoch) <= e_p

Unset (``None``) is ``e_p = -inf``: never. As with patience, the member then keeps its
best-validation weights (the same best-epoch rule; with no validation split its last
weights). First-order training only: the full-batch methods stop by their own ``tolerance``.
"""

from __future__ import annotations

import math

import torch


def stop_loss_values(configs) -> list[float]:
    """Each member's threshold (``-inf`` where unset)."""
    return [-math.inf if c.train.stop_loss is None else float(c.train.stop_loss) for c in configs]


@torch.no_grad()
def stop_on_train_loss(trainer) -> None:
    """Stop the live members whose last training loss reached their ``stop_loss``."""
    threshold = trainer.knobs.extra.get("stop_loss")
    if threshold is None or not bool(torch.isfinite(threshold).any()):
        return
    hit = trainer.alive & (trainer.history["train_loss"][-1] <= threshold)
    trainer.stopped |= hit
    trainer.alive &= ~hit
