"""Gaussian noise in weights and inputs, per-member sigma (:ref:`bg-noise`).

Noise in weights: ``w <- w + eps_w`` with ``eps_w ~ N(0, sigma^2 I)``,
which acts like a regularization term added to the loss. For every
training step, member ``p``'s kernels (not biases, not batch-norm scale/shift)
are perturbed with its own ``sigma_p`` and its own random stream; the forward
and backward passes run at ``w + eps`` and the optimizer then updates the clean
weights ``w`` with that gradient (the perturbation is removed by restoring a
saved copy, so it never accumulates and a ``sigma = 0`` member is untouched bit
for bit).

Input noise: ``x <- x + eps_x``, ``eps_x ~ N(0, sigma_in^2 I)``, a fresh draw per
mini-batch; the inputs become per member ``(P, B, F)``.
"""

from __future__ import annotations

import torch

from caviar.nn import random as rnd
from caviar.tensors import per_member


def check_sigma(sigma: torch.Tensor, what: str) -> torch.Tensor:
    """Raise a one-line error unless every sigma is finite and >= 0."""
    from caviar.errors import CaviarError

    ok = torch.isfinite(sigma) & (sigma >= 0)
    if not bool(ok.all()):
        raise CaviarError(f"{what} must be >= 0, got {sigma[~ok][0].item()}")
    return sigma


@torch.no_grad()
def perturb_weights(
    weights: list[torch.Tensor], sigma: torch.Tensor, seeds: torch.Tensor, counter: rnd.Counter
) -> None:
    """Add ``sigma_p * N(0, 1)`` in place to every kernel ``(P, fan_in, fan_out)``."""
    for i, w in enumerate(weights):
        eps = rnd.normal(seeds, rnd.STREAM_WEIGHT_NOISE + 1000 * i, counter, tuple(w.shape[1:]))
        w.add_(per_member(sigma.to(w.dtype), w) * eps.to(w.dtype))


def input_noise(
    x: torch.Tensor, sigma: torch.Tensor, seeds: torch.Tensor, counter: rnd.Counter, stream: int
) -> torch.Tensor:
    """``x + sigma_p * N(0, 1)`` for inputs ``(B, F)`` or ``(P, B, F)`` -> ``(P, B, F)``."""
    P = sigma.shape[0]
    shape = tuple(x.shape[-2:])
    eps = rnd.normal(seeds, stream, counter, shape, dtype=x.dtype)
    return (
        x + per_member(sigma.to(x.dtype), eps) * eps
        if x.dim() == 3
        else (x.unsqueeze(0).expand(P, -1, -1) + per_member(sigma.to(x.dtype), eps) * eps)
    )
