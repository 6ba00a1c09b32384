"""BFGS with a dense per-member inverse-Hessian approximation (:ref:`bg-quasi-newton`).

Quasi-Newton: the direction ``d = -H_inv g`` uses an approximation of the inverse
Hessian updated from each step ``s = x_new - x`` and gradient change
``y = g_new - g`` (Nocedal & Wright, eq. 6.17):

    rho   = 1 / (y.s)
    H_inv <- (I - rho s y^T) H_inv (I - rho y s^T) + rho s s^T

``H_inv`` starts as ``I`` and is rescaled to ``(y.s / y.y) I`` before the first
update (N&W eq. 6.20). An update is skipped when ``y.s <= 1e-10 |y| |s|`` (the
curvature condition fails: keeping ``H_inv`` positive definite). The cost is
``O(N^2)`` per step instead of Newton's ``O(N^3)``; ``H_inv`` is ``(P, N, N)``.
"""

from __future__ import annotations

import torch

from caviar.optim.second_order.base import FullBatchMethod
from caviar.optim.second_order.hessian import check_dense
from caviar.optim.second_order.objective import Objective, batched_dot


class BFGS(FullBatchMethod):
    """Batched BFGS: a dense inverse-Hessian estimate per member, updated from each step
    and gradient change, with a line search along its direction."""

    name = "bfgs"
    curvature_c2 = 0.9

    def __init__(self, x0: torch.Tensor, **kw) -> None:
        check_dense(x0.shape[1], "bfgs", x0.shape[0], x0.element_size())
        super().__init__(x0, **kw)
        P, N = x0.shape
        self.H = torch.eye(N, dtype=x0.dtype, device=x0.device).repeat(P, 1, 1)
        self.updates = torch.zeros(P, dtype=torch.long, device=x0.device)

    def direction(self, f: Objective, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        return -(self.H @ g[:, :, None]).squeeze(-1)

    def update(self, s: torch.Tensor, y: torch.Tensor, moved: torch.Tensor) -> None:
        ys = batched_dot(y, s)
        yy = batched_dot(y, y)
        ok = moved & (ys > 1e-10 * torch.sqrt(yy * batched_dot(s, s)))
        if not bool(ok.any()):
            return
        first = ok & (self.updates == 0)
        scale = torch.where(first, ys / yy.clamp_min(1e-300), torch.ones_like(ys))
        H = self.H * scale[:, None, None]
        rho = torch.where(ok, 1.0 / ys, torch.zeros_like(ys))
        Hy = (H @ y[:, :, None]).squeeze(-1)  # (P, N)
        yHy = batched_dot(y, Hy)
        # expanded form of (I - rho s y^T) H (I - rho y s^T) + rho s s^T (H symmetric)
        new = (
            H
            - rho[:, None, None] * (s[:, :, None] * Hy[:, None, :] + Hy[:, :, None] * s[:, None, :])
            + (rho * rho * yHy + rho)[:, None, None] * (s[:, :, None] * s[:, None, :])
        )
        self.H = torch.where(ok[:, None, None], new, self.H)
        self.updates += ok.long()

    def copy_members(self, dst: torch.Tensor, src: torch.Tensor) -> None:
        self.H.index_copy_(0, dst, self.H.index_select(0, src))
        self.updates.index_copy_(0, dst, self.updates.index_select(0, src))
