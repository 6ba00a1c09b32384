"""L-BFGS: BFGS with the last ``m`` pairs instead of a dense matrix (Nocedal & Wright
Alg. 7.4, the two-loop recursion; the quasi-Newton idea of :ref:`bg-quasi-newton` in
``O(m N)`` memory per member).

    q = g
    for i = newest .. oldest:  alpha_i = rho_i s_i.q;  q -= alpha_i y_i
    r = gamma q,  gamma = s.y / y.y of the newest pair
    for i = oldest .. newest:  beta = rho_i y_i.r;     r += (alpha_i - beta) s_i
    d = -r

Histories ``S, Y`` are ``(P, m, N)`` with slot 0 the newest; an empty slot has
``rho = 0`` and so contributes nothing, which lets members with different history
lengths share one batched recursion. Pairs failing ``y.s > 1e-10 |y||s|`` are
skipped.
"""

from __future__ import annotations

import torch

from caviar.optim.second_order.base import FullBatchMethod
from caviar.optim.second_order.objective import Objective, batched_dot


class LBFGS(FullBatchMethod):
    """Batched L-BFGS: the BFGS direction from the last ``history_size`` steps and
    gradient changes of each member (two-loop recursion), no dense matrix."""

    name = "lbfgs"
    curvature_c2 = 0.9

    def __init__(self, x0: torch.Tensor, *, history_size: int = 10, **kw) -> None:
        super().__init__(x0, **kw)
        if history_size < 1:
            raise ValueError(f"history_size must be >= 1, got {history_size}")
        P, N = x0.shape
        self.m = int(history_size)
        self.S = x0.new_zeros(P, self.m, N)
        self.Y = x0.new_zeros(P, self.m, N)
        self.rho = x0.new_zeros(P, self.m)

    def direction(self, f: Objective, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        q = g.clone()
        alphas = []
        for i in range(self.m):
            alpha = self.rho[:, i] * batched_dot(self.S[:, i], q)
            q = q - alpha[:, None] * self.Y[:, i]
            alphas.append(alpha)
        s0, y0 = self.S[:, 0], self.Y[:, 0]
        yy = batched_dot(y0, y0)
        has = self.rho[:, 0] > 0
        gamma = torch.where(has, batched_dot(s0, y0) / yy.clamp_min(1e-300), torch.ones_like(yy))
        r = gamma[:, None] * q
        for i in reversed(range(self.m)):
            beta = self.rho[:, i] * batched_dot(self.Y[:, i], r)
            r = r + (alphas[i] - beta)[:, None] * self.S[:, i]
        return -r

    def update(self, s: torch.Tensor, y: torch.Tensor, moved: torch.Tensor) -> None:
        ys = batched_dot(y, s)
        ok = moved & (ys > 1e-10 * torch.sqrt(batched_dot(y, y) * batched_dot(s, s)))
        if not bool(ok.any()):
            return
        shifted_S = torch.cat([s[:, None], self.S[:, :-1]], dim=1)
        shifted_Y = torch.cat([y[:, None], self.Y[:, :-1]], dim=1)
        shifted_rho = torch.cat([(1.0 / ys)[:, None], self.rho[:, :-1]], dim=1)
        self.S = torch.where(ok[:, None, None], shifted_S, self.S)
        self.Y = torch.where(ok[:, None, None], shifted_Y, self.Y)
        self.rho = torch.where(ok[:, None], shifted_rho, self.rho)

    def copy_members(self, dst: torch.Tensor, src: torch.Tensor) -> None:
        for t in (self.S, self.Y, self.rho):
            t.index_copy_(0, dst, t.index_select(0, src))
