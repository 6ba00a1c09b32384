"""Damped Newton's method with exact per-member Hessians (:ref:`bg-newton`).

The Hessian acts as a per-parameter learning rate: the step solves

    (H + mu I) d = -g,     mu = max(0, delta - lambda_min(H))

so that ``H + mu I`` has all eigenvalues ``>= delta`` (``delta`` = ``damping``): no
damping where the Hessian is safely positive definite (pure Newton, quadratic
convergence), a shift towards gradient descent where it is not (Levenberg
modification). ``H`` is ``(P, N, N)`` from :func:`~caviar.optim.second_order.hessian.hessian`
(``torch.func``); the solve uses one batched symmetric eigendecomposition. An
Armijo line search from ``t = 1`` globalizes the step.
"""

from __future__ import annotations

import torch

from caviar.optim.second_order.base import FullBatchMethod
from caviar.optim.second_order.hessian import check_dense, hessian
from caviar.optim.second_order.objective import Objective


class Newton(FullBatchMethod):
    """Batched damped Newton: each member steps along ``-(H + mu I)^-1 g`` with its own
    exact Hessian ``H`` (eigenvalues floored at ``damping``)."""

    name = "newton"

    def __init__(self, x0: torch.Tensor, *, damping: torch.Tensor | float = 1e-6, **kw) -> None:
        check_dense(x0.shape[1], "newton", x0.shape[0], x0.element_size())
        super().__init__(x0, **kw)
        P = x0.shape[0]
        self.damping = torch.as_tensor(damping, dtype=x0.dtype, device=x0.device).expand(P)
        self.last_shift = torch.zeros(P, dtype=x0.dtype, device=x0.device)

    def direction(self, f: Objective, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        H = hessian(f, x)
        evals, vecs = torch.linalg.eigh(H)  # ascending eigenvalues per member
        shift = (self.damping - evals[:, 0]).clamp_min(0.0)
        self.last_shift = shift
        coef = (vecs.transpose(1, 2) @ g[:, :, None]).squeeze(-1) / (evals + shift[:, None])
        return -(vecs @ coef[:, :, None]).squeeze(-1)
