"""Gradient check: autograd against central finite differences (:ref:`bg-gradient-check`).

Numerical differentiation is too slow to train with, but it verifies
back-propagation on a simplified network. For every parameter tensor (each layer's
weight and bias) and each checked entry ``j``, in float64:

    g_fd[j] = (f(theta + h e_j) - f(theta - h e_j)) / (2 h)          h = 1e-6
    rel[j]  = |g_ad[j] - g_fd[j]| / max(|g_ad[j]|, |g_fd[j]|, floor)

and the tensor fails when ``max_j rel[j] > threshold`` (1e-5). The ``floor``,
``1e-4 max(1, |f(theta)|)``, keeps entries whose true gradient is ~0 (a balanced
L1 residual, a dead unit) from dividing the round-off of the difference quotient
(about ``1e-16 |f| / h = 1e-10 |f|``) by ~0: such entries are judged by their
absolute error against ``threshold * floor``. All ``2k`` perturbed evaluations of a
tensor run as one batched pass: the perturbed parameter vectors are rows of one
``(2k, N)`` tensor, like members of a population.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch

from caviar.optim.second_order.objective import value_and_grad

H_STEP = 1e-6
THRESHOLD = 1e-5
FLOOR = 1e-4  # relative to max(1, |f|)
MAX_ENTRIES = 256  # entries checked per tensor (all when the tensor is smaller)


@dataclass
class TensorCheck:
    name: str
    size: int
    checked: int
    max_rel_error: float
    max_abs_error: float
    ok: bool

    def as_dict(self) -> dict:
        return asdict(self)


def gradient_check(
    f: Callable[[torch.Tensor], torch.Tensor],
    theta: torch.Tensor,
    tensors: list[tuple[str, int, int]],
    *,
    h: float = H_STEP,
    threshold: float = THRESHOLD,
    floor: float = FLOOR,
    max_entries: int = MAX_ENTRIES,
    seed: int = 0,
    grad: torch.Tensor | None = None,
) -> list[TensorCheck]:
    """Check ``f``'s autograd gradient at ``theta`` ``(N,)`` for each ``(name, start, end)``.

    ``f`` maps ``(R, N)`` parameter rows to ``(R,)`` values. Tensors larger than
    ``max_entries`` are checked on a random subset of their entries. ``grad`` ``(N,)``
    checks that gradient instead of autograd's (the training path's backpropagation,
    :mod:`caviar.diagnose.backprop_check`).
    """
    theta = theta.detach().to(torch.float64).reshape(1, -1)
    f0, g_ad = value_and_grad(f, theta)
    g_ad = g_ad[0] if grad is None else grad.detach().to(g_ad).reshape(-1)
    floor_t = torch.tensor(floor * max(1.0, abs(float(f0[0]))), dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    results = []
    for name, start, end in tensors:
        size = end - start
        if size > max_entries:
            idx = start + torch.randperm(size, generator=gen)[:max_entries].sort().values
        else:
            idx = torch.arange(start, end)
        idx = idx.to(theta.device)
        k = idx.numel()
        rows = theta.repeat(2 * k, 1)
        ar = torch.arange(k, device=theta.device)
        rows[ar, idx] += h
        rows[k + ar, idx] -= h
        with torch.no_grad():
            vals = f(rows)
        g_fd = (vals[:k] - vals[k:]) / (2 * h)
        ga = g_ad[idx]
        err = (ga - g_fd).abs()
        rel = err / torch.maximum(torch.maximum(ga.abs(), g_fd.abs()), floor_t.to(ga.device))
        max_rel = float(rel.max()) if k else 0.0
        results.append(
            TensorCheck(
                name=name,
                size=size,
                checked=k,
                max_rel_error=max_rel,
                max_abs_error=float(err.max()) if k else 0.0,
                ok=bool(max_rel <= threshold),
            )
        )
    return results


def model_tensors(model) -> list[tuple[str, int, int]]:
    """``(name, start, end)`` of every weight and bias tensor of a population MLP row (of
    every parameter, for a generic module population)."""
    if getattr(model, "kind", "mlp") != "mlp":
        return [(n, start, start + math.prod(shape)) for n, shape, start in model.param_layout]
    out = []
    for i, s in enumerate(model.slices):
        out.append((f"layers.{i}.weight", s.weight_start, s.bias_start))
        out.append((f"layers.{i}.bias", s.bias_start, s.end))
    return out
