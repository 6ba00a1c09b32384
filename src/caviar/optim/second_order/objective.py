"""Per-member objectives for full-batch methods.

A full-batch method sees a population as ``P`` independent functions of the
rows of one ``(P, N)`` tensor: ``f(flat) -> (P,)`` where ``f(flat)[p]`` depends
on ``flat[p]`` only. Then the gradient of ``sum_p f_p`` with respect to ``flat``
is row by row each member's own gradient, and its Hessian is block diagonal.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Objective = Callable[[torch.Tensor], torch.Tensor]


def value_and_grad(f: Objective, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``f(x)`` ``(P,)`` and every member's gradient ``(P, N)`` in one backward pass."""
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        value = f(xg)
        (grad,) = torch.autograd.grad(value.sum(), xg)
    return value.detach(), grad.detach()


def evaluate(f: Objective, x: torch.Tensor) -> torch.Tensor:
    """``f(x)`` without building a graph."""
    with torch.no_grad():
        return f(x.detach())


def batched_dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Row-wise dot products ``(P,)`` of two ``(P, N)`` tensors."""
    return (a * b).sum(dim=-1)
