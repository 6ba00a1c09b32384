"""A small nonconvex test problem shared by the optimizer tests (not a test module).

A population of tiny tanh MLPs (3 -> 4 -> 1) stored as one flat ``(P, N)``
float64 tensor, regressing noisy targets with a fresh minibatch every step. The
same ``loss`` works on a single member's ``(N,)`` parameters, so P separate
``torch.optim`` runs can serve as the reference.
"""

from __future__ import annotations

import torch

F_IN, HIDDEN = 3, 4
N_PARAMS = F_IN * HIDDEN + HIDDEN + HIDDEN + 1  # 21
DTYPE = torch.float64


def loss(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean squared error of the MLP with parameters ``theta`` (``(..., N)``) -> shape ``(...)``."""
    lead = theta.shape[:-1]
    w1 = theta[..., : F_IN * HIDDEN].reshape(*lead, F_IN, HIDDEN)
    b1 = theta[..., F_IN * HIDDEN : F_IN * HIDDEN + HIDDEN].unsqueeze(-2)
    w2 = theta[..., F_IN * HIDDEN + HIDDEN : F_IN * HIDDEN + 2 * HIDDEN].reshape(*lead, HIDDEN, 1)
    b2 = theta[..., -1:].unsqueeze(-2)
    h = torch.tanh(x @ w1 + b1)
    out = (h @ w2 + b2).squeeze(-1)
    return ((out - y) ** 2).mean(-1)


def make_data(steps: int, batch: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``steps`` minibatches: x ``(steps, batch, 3)``, y ``(steps, batch)``."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(steps, batch, F_IN, generator=g, dtype=DTYPE)
    y = torch.sin(2.0 * x[..., 0]) * x[..., 1] + 0.1 * torch.randn(
        steps, batch, generator=g, dtype=DTYPE
    )
    return x, y


def init_params(size: int, seed: int = 1) -> torch.Tensor:
    """Initial flat parameters ``(size, N)``, different for every member."""
    g = torch.Generator().manual_seed(seed)
    return 0.7 * torch.randn(size, N_PARAMS, generator=g, dtype=DTYPE)


def population_grad(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> None:
    """Set ``theta.grad`` to every member's own gradient (backward of the summed losses)."""
    theta.grad = None
    loss(theta, x, y).sum().backward()
