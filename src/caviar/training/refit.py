"""Refit after early stopping on training + validation data (:ref:`bg-early-stopping`).

Early stopping spends the validation set on choosing when to stop; two
strategies then reuse it for training:

* ``fresh``: find the best number of iterations ``i*`` on the validation set, then
  train a newly initialized model on the training and validation sets for only ``i*``
  iterations. Member ``p`` is re-initialized
  from its seed and trained on train+validation for ``i*_p = best_epoch_p + 1``
  epochs (counted in epochs, the unit of early stopping here), with the same
  learning-rate schedule as before; then it stops (status ``complete``).
* ``continue``: find the best loss ``eps`` on the validation set, then train the
  model on from its parameters with the training and validation sets until its loss
  is better than ``eps``. ``eps_p`` is member ``p``'s training
  loss at its best validation epoch; training resumes from its restored best
  weights (and batch-norm statistics; the optimizer state starts afresh) and
  member ``p`` stops after the first epoch whose mean training loss is
  ``<= eps_p``, or after ``refit.max_epochs`` (default ``train.epochs``) epochs.

Neither strategy restores "best" weights at the end: there is no held-out data
left to choose them with. Members train as one population, each stopping on its
own rule.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import torch

from caviar.data.weights import train_val_weights
from caviar.errors import CaviarError
from caviar.training.result import PopulationResult
from caviar.training.trainer import PopulationTrainer

STRATEGIES = ("fresh", "continue")


def train_val_data(data):
    """``data`` with the validation rows appended to the training rows."""
    x, y = data.train_val()
    return dataclasses.replace(data, X_train=x, y_train=y, w_train=train_val_weights(data))


def _refit_configs(result: PopulationResult, epochs: int | None = None):
    out = []
    for m in result.members:
        c = m.config.model_copy(deep=True)
        c.train.patience = None
        if epochs is not None:
            c.train.epochs = epochs
        out.append(c)
    return out


def refit(result: PopulationResult, data, strategy: str, *, max_epochs: int | None = None):
    """Refit every member of ``result`` on train+validation; returns the refit trainer's
    :class:`PopulationResult` (weights in ``.model``, epochs run per member)."""
    if strategy not in STRATEGIES:
        raise CaviarError(f"unknown refit strategy '{strategy}' (choose from: fresh, continue)")
    full = train_val_data(data)
    if strategy == "fresh":
        budget = torch.tensor([max(m.best_epoch + 1, 1) for m in result.members])

        def at_budget(trainer: PopulationTrainer) -> None:
            trainer.finish(trainer.epochs_run.cpu() >= budget)

        configs = _refit_configs(result)
        trainer = PopulationTrainer(configs, full, callbacks=[at_budget], restore_best=False)
        return trainer.run()
    cap = max_epochs or result.members[0].config.train.epochs
    eps = torch.tensor([m.train_loss for m in result.members], dtype=torch.float64)
    eps = torch.where(torch.isfinite(eps), eps, torch.full_like(eps, -np.inf))

    def reached(trainer: PopulationTrainer) -> None:
        loss = trainer.history["train_loss"][-1].detach().cpu().double()
        trainer.finish(loss <= eps)

    trainer = PopulationTrainer(
        _refit_configs(result, cap), full, callbacks=[reached], restore_best=False
    )
    trained: Any = result.model  # any population model: flat weights and running stats
    with torch.no_grad():
        trainer.model.flat.copy_(trained.flat.detach().to(trainer.model.flat))
        trainer.model.stats.copy_(trained.stats.to(trainer.model.stats))
    return trainer.run()
