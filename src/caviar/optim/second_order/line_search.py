"""Batched line searches along per-member directions (:ref:`bg-line-search`).

A line search picks the step ``eta* = argmin_eta f(x + eta d)`` along a direction
``d`` instead of fixing it. Two searches, each run for ``P`` members at once (every
member has its own step, bracket and stopping state):

* :func:`armijo` -- backtracking: start at ``t0`` and multiply by ``shrink`` until
  the sufficient-decrease (Armijo) condition holds

      f(x + t d) <= f(x) + c1 t g.d         (g.d < 0: d is a descent direction)

* :func:`golden_section` -- bracketing then golden-section refinement: find a
  bracket ``a < b < c`` with ``f(b) < f(a)`` and ``f(b) <= f(c)`` (shrinking or
  growing the trial step by the golden ratio), then repeatedly try a point inside
  the larger of ``[a, b]`` and ``[b, c]`` and keep the sub-bracket around the lowest value
  (the bracket shrinks until it is small enough). The refined step is only accepted if it
  satisfies the Armijo condition; otherwise backtracking from it takes over.

A member whose search fails (no descent direction, or no acceptable step within the
evaluation budget) gets step 0 and ``ok = False``: it does not move.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from caviar.optim.second_order.objective import Objective, batched_dot, evaluate

GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0  # 0.618...
INV_GOLDEN_SQ = 1.0 - GOLDEN  # 0.381..., the golden-section interior fraction
LINE_SEARCHES = ("armijo", "golden")


@dataclass
class LineSearchResult:
    step: torch.Tensor  # (P,) accepted step (0 where the search failed)
    value: torch.Tensor  # (P,) f(x + step d)
    ok: torch.Tensor  # (P,) bool: an Armijo step was found
    evals: int  # objective evaluations (each one batched over members)


def _armijo_ok(fnew, fx, t, slope, c1) -> torch.Tensor:
    return torch.isfinite(fnew) & (fnew <= fx + c1 * t * slope)


def armijo(
    f: Objective,
    x: torch.Tensor,
    fx: torch.Tensor,
    g: torch.Tensor,
    d: torch.Tensor,
    t0: torch.Tensor | float = 1.0,
    *,
    c1: float = 1e-4,
    shrink: float = 0.5,
    max_evals: int = 40,
    active: torch.Tensor | None = None,
) -> LineSearchResult:
    """Backtracking line search; members outside ``active`` get step 0 untouched."""
    P = x.shape[0]
    slope = batched_dot(g, d)
    active = torch.ones(P, dtype=torch.bool, device=x.device) if active is None else active
    pending = active & (slope < 0)
    t = torch.as_tensor(t0, dtype=x.dtype, device=x.device).expand(P).clone()
    value = fx.clone()
    ok = torch.zeros_like(pending)
    evals = 0
    while bool(pending.any()) and evals < max_evals:
        fnew = evaluate(f, x + t[:, None] * d)
        evals += 1
        good = pending & _armijo_ok(fnew, fx, t, slope, c1)
        value = torch.where(good, fnew, value)
        ok |= good
        pending &= ~good
        t = torch.where(pending, t * shrink, t)
    t = torch.where(ok, t, torch.zeros_like(t))
    return LineSearchResult(step=t, value=torch.where(ok, value, fx), ok=ok, evals=evals)


@dataclass
class _Line:
    """``f`` along ``x + t d`` for every member at once (NaN/inf read as +inf: too far),
    counting the evaluations."""

    f: Objective
    x: torch.Tensor
    d: torch.Tensor
    evals: int = 0

    def __call__(self, t: torch.Tensor) -> torch.Tensor:
        v = evaluate(self.f, self.x + t[:, None] * self.d)
        self.evals += 1
        return torch.where(torch.isfinite(v), v, torch.full_like(v, math.inf))


def golden_section(
    f: Objective,
    x: torch.Tensor,
    fx: torch.Tensor,
    g: torch.Tensor,
    d: torch.Tensor,
    t0: torch.Tensor | float = 1.0,
    *,
    c1: float = 1e-4,
    rel_tol: float = 1e-3,
    max_evals: int = 60,
    active: torch.Tensor | None = None,
) -> LineSearchResult:
    """Bracket ``[a, b, c]`` then golden-section refinement; Armijo-checked."""
    P = x.shape[0]
    slope = batched_dot(g, d)
    active = torch.ones(P, dtype=torch.bool, device=x.device) if active is None else active
    live = active & (slope < 0)
    # fixed per-phase budgets: a member's search never depends on another member's
    budget = max(1, max_evals // 3)
    line = _Line(f, x, d)
    a = torch.zeros(P, dtype=x.dtype, device=x.device)
    b = torch.as_tensor(t0, dtype=x.dtype, device=x.device).expand(P).clone()
    a, b, c, fb, live = _bracket(line, a, fx.clone(), b, live, budget)
    b, fb = _refine(line, a, b, c, fb, live & ((c - a) > rel_tol * b.abs()), rel_tol, budget)
    ok = live & _armijo_ok(fb, fx, b, slope, c1)
    result = LineSearchResult(
        step=torch.where(ok, b, torch.zeros_like(b)),
        value=torch.where(ok, fb, fx),
        ok=ok,
        evals=line.evals,
    )
    retry = active & (slope < 0) & ~ok
    if bool(retry.any()):  # the refined step is not an Armijo step: backtrack from it
        start = torch.where(b > 0, b, torch.as_tensor(t0, dtype=x.dtype, device=x.device))
        back = armijo(f, x, fx, g, d, start, c1=c1, active=retry)
        result = LineSearchResult(
            step=torch.where(retry, back.step, result.step),
            value=torch.where(retry, back.value, result.value),
            ok=result.ok | back.ok,
            evals=line.evals + back.evals,
        )
    return result


def _bracket(
    line: _Line, a: torch.Tensor, fa: torch.Tensor, b: torch.Tensor, live: torch.Tensor, budget: int
) -> tuple[torch.Tensor, ...]:
    """Phase 1, a bracket ``a < b < c`` with ``f(b) < f(a)``: shrink ``b`` while
    ``f(b) >= f(a)``, then grow ``c`` until ``f(c) >= f(b)`` (each at most ``budget``
    evaluations). Returns ``a, b, c, f(b)`` and the members still searching (those that
    found a decrease); a member still growing at the budget keeps ``c = b``."""
    fb = line(b)
    c = torch.full_like(b, math.inf)
    fc = torch.full_like(b, math.inf)
    shrinking = live & (fb >= fa)
    for _ in range(budget):
        if not bool(shrinking.any()):
            break
        c, fc = torch.where(shrinking, b, c), torch.where(shrinking, fb, fc)
        b = torch.where(shrinking, b * INV_GOLDEN_SQ, b)
        fb = torch.where(shrinking, line(b), fb)
        shrinking &= fb >= fa
    live = live & (fb < fa)
    growing = live & torch.isinf(c)
    for _ in range(budget):
        if not bool(growing.any()):
            break
        trial = b + (b - a) / GOLDEN
        ft = line(trial)
        stop = growing & (ft >= fb)
        c, fc = torch.where(stop, trial, c), torch.where(stop, ft, fc)
        move = growing & ~stop
        a, fa = torch.where(move, b, a), torch.where(move, fb, fa)
        b, fb = torch.where(move, trial, b), torch.where(move, ft, fb)
        growing &= ~stop
    return a, b, torch.where(torch.isinf(c), b, c), fb, live


def _refine(
    line: _Line,
    a: torch.Tensor,
    b: torch.Tensor,
    c: torch.Tensor,
    fb: torch.Tensor,
    refining: torch.Tensor,
    rel_tol: float,
    budget: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Phase 2, golden-section refinement of the ``refining`` members' brackets: try
    the point at the golden fraction inside the larger of ``[a, b]`` and ``[b, c]``,
    keep the sub-bracket around the lowest value, until ``c - a <= rel_tol |b|`` (at
    most ``budget`` evaluations). Returns the middle ``b`` and ``f(b)``."""
    for _ in range(budget):
        if not bool(refining.any()):
            break
        right = (c - b) > (b - a)
        trial = torch.where(right, b + INV_GOLDEN_SQ * (c - b), b - INV_GOLDEN_SQ * (b - a))
        ft = line(trial)
        better = refining & (ft < fb)
        worse = refining & ~better
        # better: trial becomes the middle; the old middle becomes an end
        a = torch.where(better & right, b, a)
        c = torch.where(better & ~right, b, c)
        # worse: trial becomes an end
        c = torch.where(worse & right, trial, c)
        a = torch.where(worse & ~right, trial, a)
        b, fb = torch.where(better, trial, b), torch.where(better, ft, fb)
        refining &= (c - a) > rel_tol * b.abs()
    return b, fb


def line_search(kind: str, *args, **kwargs) -> LineSearchResult:
    """Dispatch to :func:`armijo` or :func:`golden_section` by name."""
    if kind == "armijo":
        return armijo(*args, **kwargs)
    if kind == "golden":
        kwargs.pop("max_evals", None)
        return golden_section(*args, **kwargs)
    raise ValueError(f"unknown line search {kind!r} (choose from: {', '.join(LINE_SEARCHES)})")
