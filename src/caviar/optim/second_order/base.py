"""The common step of full-batch methods and a batched ``minimize`` driver.

One iteration of every method, for ``P`` members at once:

    d      = direction(x, g)                 (method-specific, per member)
    t      = line search along d from t0     (bg-line-search; or the fixed rate)
    x_new  = x + t d,  g_new = grad f(x_new)
    update(s = x_new - x, y = g_new - g)     (quasi-Newton memory, bg-quasi-newton)

Members outside ``active`` (converged, stopped, diverged) get ``t = 0`` and keep
their state, so a member's trajectory never depends on the others.

Stopping rule of :func:`minimize` per member (:ref:`bg-gradient-descent`):
stop when the loss decrease ``L(i) - L(i+1) < tau`` or ``max |grad| <= gtol``. A
decrease of exactly zero (or an increase) also stops with ``tau = 0``: the method
cannot move the loss any more (:func:`decrease_stalled`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from caviar.optim.second_order.line_search import LINE_SEARCHES, line_search
from caviar.optim.second_order.objective import Objective, value_and_grad


@dataclass
class StepResult:
    x: torch.Tensor  # (P, N) new point
    value: torch.Tensor  # (P,) f(x)
    grad: torch.Tensor  # (P, N)
    step: torch.Tensor  # (P,) accepted step size (0: did not move)
    ok: torch.Tensor  # (P,) bool: the line search found an Armijo step
    evals: int  # batched objective evaluations of this iteration
    trial_slope: torch.Tensor | None = None  # (P,) g.d, for checking the Armijo condition
    direction: torch.Tensor | None = None


class FullBatchMethod:
    """Base class: subclasses define ``direction`` and optionally ``update``."""

    name = "base"
    default_line_search = "armijo"
    curvature_c2: float | None = None  # quasi-Newton: extend steps failing g_new.d >= c2 g.d
    max_extend = 10

    def __init__(
        self,
        x0: torch.Tensor,
        *,
        line_search: str | None = None,
        lr: torch.Tensor | float = 1.0,
        c1: float = 1e-4,
        max_evals: int = 40,
    ) -> None:
        kind = self.default_line_search if line_search is None else line_search
        if kind not in (*LINE_SEARCHES, "none"):
            raise ValueError(f"unknown line search {kind!r}")
        self.line_search = kind
        P = x0.shape[0]
        self.t0 = torch.as_tensor(lr, dtype=x0.dtype, device=x0.device).expand(P).clone()
        self.c1 = c1
        self.max_evals = max_evals

    def direction(self, f: Objective, x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def _extend(self, f, x, fx, g, d, t, ok, x_new, value, g_new):
        """Double an accepted step while it fails the curvature condition
        ``g_new.d >= c2 g.d`` (weak Wolfe) and the doubled step still satisfies Armijo.

        Quasi-Newton updates need ``y.s > 0``; a pure backtracking search can accept
        steps on which the curvature is negative and stall the memory. Every step kept
        still satisfies the Armijo condition.
        """
        slope = (g * d).sum(-1)
        c2 = self.curvature_c2
        need = ok & ((g_new * d).sum(-1) < c2 * slope)
        for _ in range(self.max_extend):
            if not bool(need.any()):
                break
            t_try = torch.where(need, 2 * t, t)
            x_try = x + t_try[:, None] * d
            v_try, g_try = value_and_grad(f, x_try)
            good = need & torch.isfinite(v_try) & (v_try <= fx + self.c1 * t_try * slope)
            t = torch.where(good, t_try, t)
            x_new = torch.where(good[:, None], x_try, x_new)
            value = torch.where(good, v_try, value)
            g_new = torch.where(good[:, None], g_try, g_new)
            need = good & ((g_try * d).sum(-1) < c2 * slope)
        return t, x_new, value, g_new

    def update(self, s: torch.Tensor, y: torch.Tensor, moved: torch.Tensor) -> None:
        """Curvature memory update from step ``s`` and gradient change ``y``."""

    def copy_members(self, dst: torch.Tensor, src: torch.Tensor) -> None:
        """Copy per-member state (none in the base class)."""

    def step(
        self,
        f: Objective,
        x: torch.Tensor,
        fx: torch.Tensor,
        g: torch.Tensor,
        active: torch.Tensor,
    ) -> StepResult:
        d = self.direction(f, x, g)
        d = torch.where(active[:, None] & torch.isfinite(d), d, torch.zeros_like(d))
        if self.line_search == "none":
            t = torch.where(active, self.t0, torch.zeros_like(self.t0))
            ok, evals = active.clone(), 0
        else:
            res = line_search(
                self.line_search,
                f,
                x,
                fx,
                g,
                d,
                self.t0,
                c1=self.c1,
                max_evals=self.max_evals,
                active=active,
            )
            t, ok, evals = res.step, res.ok, res.evals
        x_new = x + t[:, None] * d
        value, g_new = value_and_grad(f, x_new)
        if self.curvature_c2 is not None and self.line_search != "none":
            t, x_new, value, g_new = self._extend(f, x, fx, g, d, t, ok, x_new, value, g_new)
        moved = ok & (t > 0)
        self.update(x_new - x, g_new - g, moved)
        return StepResult(
            x=x_new,
            value=value,
            grad=g_new,
            step=t,
            ok=ok,
            evals=evals + 1,
            trial_slope=(g * d).sum(-1),
            direction=d,
        )


@dataclass
class MinimizeResult:
    x: torch.Tensor  # (P, N)
    fun: torch.Tensor  # (P,)
    grad: torch.Tensor  # (P, N)
    n_iter: torch.Tensor  # (P,) iterations each member ran
    converged: torch.Tensor  # (P,) stopped by gtol or tau
    history: list[torch.Tensor] = field(default_factory=list)  # f after each iteration
    steps: list[StepResult] = field(default_factory=list)


def decrease_stalled(decrease: torch.Tensor, tol: torch.Tensor | float) -> torch.Tensor:
    """The stopping rule ``L(i) - L(i+1) < tau`` (:ref:`bg-gradient-descent`), where a
    decrease ``<= 0`` also stops (with ``tau = 0`` the strict rule would never stop on a
    loss that no longer changes, e.g. steps of 4e-9 at a saddle of Rosenbrock)."""
    return (decrease < tol) | (decrease <= 0)


def minimize(
    method: FullBatchMethod,
    f: Objective,
    x0: torch.Tensor,
    *,
    max_iter: int = 100,
    gtol: float = 1e-6,
    tol: float = 0.0,
    keep_steps: bool = False,
) -> MinimizeResult:
    """Run ``method`` on every member until its stopping rule or ``max_iter``."""
    x = x0.detach().clone()
    fx, g = value_and_grad(f, x)
    P = x.shape[0]
    n_iter = torch.zeros(P, dtype=torch.long, device=x.device)
    active = g.abs().amax(dim=-1) > gtol
    converged = ~active
    history, steps = [fx], []
    for _ in range(max_iter):
        if not bool(active.any()):
            break
        res = method.step(f, x, fx, g, active)
        if keep_steps:
            steps.append(res)
        n_iter += active.long()
        decrease = fx - res.value
        x = torch.where(active[:, None], res.x, x)
        g = torch.where(active[:, None], res.grad, g)
        fx = torch.where(active, res.value, fx)
        history.append(fx)
        stalled = decrease_stalled(decrease, tol)
        done = active & ((g.abs().amax(dim=-1) <= gtol) | stalled | ~res.ok)
        converged |= done & ((g.abs().amax(dim=-1) <= gtol) | stalled)
        active &= ~done
    return MinimizeResult(x, fx, g, n_iter, converged, history, steps)
