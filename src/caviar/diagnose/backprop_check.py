"""The gradient check on the training path (:ref:`bg-gradient-check`).

:func:`caviar.diagnose.gradient_check.gradient_check` compares autograd with central
differences; the trainer, though, takes its gradients from the backpropagation written
out in :mod:`caviar.nn.backprop` (autograd only with batch norm). Here the gradient is
the one a training step computes -- :func:`caviar.training.gradient_step.loss_and_gradient`
on one float64 mini-batch of the check's rows, regularizers off (dropout and noise are
random, so no difference quotient matches them) -- and it is checked against central
differences of the same objective ``data loss + penalties`` at the same weights.
With batch norm the training step normalizes by the batch's statistics, a different
function from the evaluation-mode objective, and trains by autograd: the check then
does not apply (the autograd check covers that path).
"""

from __future__ import annotations

import torch

from caviar.diagnose.gradient_check import TensorCheck, gradient_check, model_tensors
from caviar.training.gradient_step import loss_and_gradient
from caviar.training.trainer import PopulationTrainer

RANDOM_FIELDS = {
    "model": ("dropout", "input_dropout"),
    "noise": ("weight", "input"),
    "augment": ("interpolate", "shift", "rotate", "scale"),
}


def training_gradient(cfg64, data, flat: torch.Tensor, rows: int) -> torch.Tensor:
    """The training step's gradient ``(N,)`` at ``flat`` on the first ``rows`` training
    rows (the hand-written backpropagation; a model without batch norm)."""
    cfg = cfg64.model_copy(deep=True)
    for section, names in RANDOM_FIELDS.items():
        for name in names:
            setattr(getattr(cfg, section), name, 0.0)
    cfg.train.sampling = "shared"
    trainer = PopulationTrainer([cfg], data)
    with torch.no_grad():
        trainer.model.flat.copy_(flat.reshape(1, -1).to(trainer.model.flat))
    trainer.model.zero_grad()
    t = trainer.tensors
    loss_and_gradient(trainer, t.x_train[:rows], t.y_train[:rows])
    grad = trainer.model.flat.grad
    assert grad is not None  # loss_and_gradient ran backward
    return grad[0].detach().clone()


def backprop_check(cfg64, data, model, f, rows: int) -> list[TensorCheck] | None:
    """Central differences of ``f`` against the training path's gradient at ``model``'s
    weights (``f``: the objective on the same ``rows``); None with batch norm."""
    if model.batch_norm:
        return None
    grad = training_gradient(cfg64, data, model.flat.detach()[0], rows)
    return gradient_check(f, model.flat[0], model_tensors(model), grad=grad)
