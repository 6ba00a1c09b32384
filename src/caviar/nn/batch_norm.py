"""Batch normalization with per-member scale, shift and running statistics.

Batch normalization (:ref:`bg-batch-norm`): for a hidden layer's pre-activations
``z`` (one member, a mini-batch of ``m`` examples), per unit

    mu      = (1/m) sum_i z_i
    sigma^2 = (1/m) sum_i (z_i - mu)^2
    z_norm  = (z - mu) / sqrt(sigma^2 + eps)
    z~      = gamma * z_norm + beta

placed between the linear map and the activation ("Fitting Batch Norm into
network": ``z -> z~ -> a = g(z~)``); the layer's bias ``b`` is dropped because
the mean subtraction cancels it ("is redundant"). ``gamma = 1, beta = 0`` at the
start and both are trained like the weights: they
live in the member's row of ``flat``.

"Batch Norm at Test Time": the statistics used at evaluation are moving
averages over the training mini-batches, per member ``p`` and per unit:

    running_mean <- (1 - momentum_p) running_mean + momentum_p mu
    running_var  <- (1 - momentum_p) running_var  + momentum_p sigma^2 m/(m-1)

(the unbiased batch variance, as ``torch.nn.BatchNorm1d`` does; ``momentum`` is
per member, 0.1 by default; running mean starts at 0, running variance at 1).
Running statistics are buffers outside ``flat``, shape ``(P, F)``, updated only
for alive members. ``torch.func.vmap`` cannot carry per-member buffers that are
updated in place; here the member axis is an ordinary tensor axis, so it can.
"""

from __future__ import annotations

import torch

EPS = 1e-5


def batch_norm_train(
    z: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    momentum: torch.Tensor,
    alive: torch.Tensor | None = None,
    eps: float = EPS,
) -> torch.Tensor:
    """Normalize ``z (P, B, F)`` with its batch statistics; update the running ones in place.

    ``gamma, beta``: ``(P, 1, F)``; ``running_mean, running_var``: ``(P, F)``;
    ``momentum``: ``(P,)``; ``alive``: ``(P,)`` bool or ``None`` (all alive).
    """
    mean = z.mean(dim=1, keepdim=True)
    var = (z - mean).pow(2).mean(dim=1, keepdim=True)
    out = (z - mean) * torch.rsqrt(var + eps) * gamma + beta
    with torch.no_grad():
        m = z.shape[1]
        mom = momentum.to(z.dtype).unsqueeze(1)
        unbiased = var.detach().squeeze(1) * (m / max(m - 1, 1))
        new_mean = (1 - mom) * running_mean + mom * mean.detach().squeeze(1)
        new_var = (1 - mom) * running_var + mom * unbiased
        if alive is not None:
            new_mean = torch.where(alive.unsqueeze(1), new_mean, running_mean)
            new_var = torch.where(alive.unsqueeze(1), new_var, running_var)
        running_mean.copy_(new_mean)
        running_var.copy_(new_var)
    return out


def batch_norm_eval(
    z: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    eps: float = EPS,
) -> torch.Tensor:
    """Normalize ``z (P, B, F)`` with the running statistics ``(P, F)`` (test time)."""
    scale = torch.rsqrt(running_var + eps).unsqueeze(1) * gamma
    return (z - running_mean.unsqueeze(1)) * scale + beta
