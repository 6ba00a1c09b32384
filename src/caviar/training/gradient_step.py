"""One mini-batch's losses and gradients for the whole population.

For member ``p`` the training objective of a mini-batch is (:ref:`bg-penalties`)::

    J_p = data_loss_p + penalty_p

and ``model.flat.grad[p]`` receives ``∂J_p/∂θ_p``. A member whose ``J_p`` is NaN or inf is
marked diverged and frozen before its gradient is taken (its gradient is then zero on
the data side and never read by the optimizer).

Two ways to the same gradients:

* :func:`caviar.nn.backprop.backward` — the layer-by-layer backpropagation written out
  (every population without batch normalization); it starts from the loss gradient with
  respect to the ``(P, B, K)`` outputs, in closed form where the loss has one
  (``LossSpec.with_gradient``: cross-entropy on class codes, ``(q − p')/B``) and
  otherwise from autograd on the loss alone;
* autograd through :meth:`PopulationMLP.__call__` (batch normalization, whose training
  mode also updates running statistics).

Both follow ``trainer.precision`` (:mod:`caviar.nn.precision`): with bf16 the products
and activations are bfloat16 (cast by hand, or ``torch.autocast`` on the autograd path)
while the loss, the penalties and the gradients written to ``flat.grad`` are float32.
"""

from __future__ import annotations

import torch

from caviar.losses.weighted import weighted_loss
from caviar.nn.backprop import backward, forward_train
from caviar.nn.precision import FP32
from caviar.penalties.total import penalty_value

PENALTY_NAMES = ("l1_kernel", "l2_kernel", "l1_bias", "l2_bias", "l1_activity", "l2_activity")


def active_lambdas(penalty: dict[str, torch.Tensor]) -> dict[str, torch.Tensor | None]:
    """The per-member λ of each penalty, or ``None`` where it is zero for every member."""
    return {k: penalty[k] if bool((penalty[k] != 0).any()) else None for k in PENALTY_NAMES}


def loss_and_gradient(
    trainer, xb: torch.Tensor, yb: torch.Tensor, wb: torch.Tensor | None = None
) -> tuple[torch.Tensor, ...]:
    """Fill ``trainer.model.flat.grad``; return the data loss ``(P,)`` and outputs ``(P, B, K)``.

    ``wb``: per-example weights of the batch (class and sample weights), or None; the
    data loss is then their weighted mean (:mod:`caviar.losses.weighted`). Marks members
    whose objective is not finite as diverged (``trainer.alive``).
    """
    precision = getattr(trainer, "precision", FP32)
    with precision.products():
        if trainer.model.batch_norm or trainer.model.kind != "mlp":
            return _by_autograd(trainer, xb, yb, wb, precision)
        return _by_backprop(trainer, xb, yb, wb, precision)


def _penalty(trainer, weights, biases, activities) -> torch.Tensor:
    """``penalty_p`` with the λ checked once per epoch (``trainer.lambdas``; terms whose λ
    is zero for every member are skipped)."""
    return penalty_value(weights, biases, activities, trainer.lambdas, trainer.model.population)


def _mark_diverged(trainer, total: torch.Tensor) -> None:
    finite = torch.isfinite(total)
    trainer.diverged |= trainer.alive & ~finite
    trainer.alive &= finite


def _float_activities(trainer, activities: list[torch.Tensor]) -> list[torch.Tensor]:
    """Activities for the penalty in the master dtype (bf16 ones cast only when an
    activity penalty is on: the penalty's sums stay float32)."""
    on = trainer.lambdas.get("l1_activity") is not None
    on = on or trainer.lambdas.get("l2_activity") is not None
    return [a.to(trainer.dtype) for a in activities] if on else activities


def _by_backprop(trainer, xb, yb, wb, precision):
    model, knobs, reg = trainer.model, trainer.knobs, trainer.regularization
    x, drop = reg.prepare(xb, yb, trainer.global_step) if reg.active else (xb, None)
    out, cache = forward_train(model, x, slope=knobs.leaky_slope, dropout=drop, precision=precision)
    closed_form = trainer.loss_with_gradient
    if closed_form is not None:
        with torch.no_grad():
            data_loss, out_grad = closed_form(out, yb, **trainer.loss_hypers)
    else:
        out.requires_grad_(True)
        data_loss = weighted_loss(trainer.spec, out, yb, wb, trainer.loss_hypers)
    with torch.no_grad():
        weights, biases, _, _ = model.train_views()
        acts = _float_activities(trainer, cache.activities)
        total = data_loss.detach() + _penalty(trainer, weights, biases, acts)
    _mark_diverged(trainer, total)
    if closed_form is not None:  # a frozen member's data gradient is zero, as below
        out_grad = torch.where(trainer.alive.view(-1, 1, 1), out_grad, 0.0)
    else:
        torch.where(trainer.alive, data_loss, torch.zeros_like(data_loss)).sum().backward()
        out_grad = out.grad
    backward(model, cache, out_grad, slope=knobs.leaky_slope, lambdas=trainer.lambdas)
    return data_loss.detach(), out.detach()


def _by_autograd(trainer, xb, yb, wb, precision):
    model, knobs, reg = trainer.model, trainer.knobs, trainer.regularization
    with precision.autocast():
        if reg.active:
            out, acts = reg.forward(xb, yb, trainer.global_step)
        else:
            out, acts = model(xb, slope=knobs.leaky_slope, return_activities=True)
    out, acts = precision.to_master(out), [precision.to_master(a) for a in acts]
    data_loss = weighted_loss(trainer.spec, out, yb, wb, trainer.loss_hypers)
    total = data_loss + _penalty(trainer, model.weights(), model.biases(), acts)
    _mark_diverged(trainer, total.detach())
    model.zero_grad()
    torch.where(trainer.alive, total, torch.zeros_like(total)).sum().backward()
    return data_loss.detach(), out.detach()
