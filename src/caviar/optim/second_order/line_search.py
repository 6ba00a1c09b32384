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

    def at(t: torch.Tensor) -> torch.Tensor:
        return evaluate(f, x + t[:, None] * d)

    def clean(v: torch.Tensor) -> torch.Tensor:  # NaN/inf count as +inf (too far)
        return torch.where(torch.isfinite(v), v, torch.full_like(v, math.inf))

    a = torch.zeros(P, dtype=x.dtype, device=x.device)
    fa = fx.clone()
    b = torch.as_tensor(t0, dtype=x.dtype, device=x.device).expand(P).clone()
    fb = clean(at(b))
    c = torch.full_like(b, math.inf)
    fc = torch.full_like(b, math.inf)
    evals = 1
    # 1. bracket: shrink b while f(b) >= f(a); then grow c until f(c) >= f(b)
    shrinking = live & (fb >= fa)
    for _ in range(budget):
        if not bool(shrinking.any()):
            break
        c, fc = torch.where(shrinking, b, c), torch.where(shrinking, fb, fc)
        b = torch.where(shrinking, b * INV_GOLDEN_SQ, b)
        fb = torch.where(shrinking, clean(at(b)), fb)
        evals += 1
        shrinking &= fb >= fa
    live &= fb < fa
    growing = live & torch.isinf(c)
    for _ in range(budget):
        if not bool(growing.any()):
            break
        trial = b + (b - a) / GOLDEN
        ft = clean(at(trial))
        evals += 1
        stop = growing & (ft >= fb)
        c, fc = torch.where(stop, trial, c), torch.where(stop, ft, fc)
        move = growing & ~stop
        a, fa = torch.where(move, b, a), torch.where(move, fb, fa)
        b, fb = torch.where(move, trial, b), torch.where(move, ft, fb)
        growing &= ~stop
    # members still growing at the budget keep b (a decrease was found)
    c = torch.where(torch.isinf(c), b, c)
    # 2. golden-section refinement of the bracket
    refining = live & ((c - a) > rel_tol * b.abs())
    for _ in range(budget):
        if not bool(refining.any()):
            break
        right = (c - b) > (b - a)
        trial = torch.where(right, b + INV_GOLDEN_SQ * (c - b), b - INV_GOLDEN_SQ * (b - a))
        ft = clean(at(trial))
        evals += 1
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
    ok = live & _armijo_ok(fb, fx, b, slope, c1)
    result = LineSearchResult(
        step=torch.where(ok, b, torch.zeros_like(b)),
        value=torch.where(ok, fb, fx),
        ok=ok,
        evals=evals,
    )
    retry = active & (slope < 0) & ~ok
    if bool(retry.any()):  # the refined step is not an Armijo step: backtrack from it
        start = torch.where(b > 0, b, torch.as_tensor(t0, dtype=x.dtype, device=x.device))
        back = armijo(f, x, fx, g, d, start, c1=c1, active=retry)
        result = LineSearchResult(
            step=torch.where(retry, back.step, result.step),
            value=torch.where(retry, back.value, result.value),
            ok=result.ok | back.ok,
            evals=evals + back.evals,
        )
    return result


def line_search(kind: str, *args, **kwargs) -> LineSearchResult:
    """Dispatch to :func:`armijo` or :func:`golden_section` by name."""
    if kind == "armijo":
        return armijo(*args, **kwargs)
    if kind == "golden":
        kwargs.pop("max_evals", None)
        return golden_section(*args, **kwargs)
    raise ValueError(f"unknown line search {kind!r} (choose from: {', '.join(LINE_SEARCHES)})")
