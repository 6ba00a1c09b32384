"""Full-batch and second-order optimization, batched over population members.

Methods (one per file): gradient descent with a loss-decrease stopping rule
(:ref:`bg-gradient-descent`), Armijo and
golden-section line searches, damped Newton, BFGS and L-BFGS. Each works on a
member's flat parameter vector: an objective ``f(flat (P, N)) -> (P,)``.
:func:`make_method` builds one by name; :func:`minimize` runs it to convergence.
"""

from __future__ import annotations

import torch

from caviar.errors import CaviarError
from caviar.optim.second_order.base import FullBatchMethod, MinimizeResult, StepResult, minimize
from caviar.optim.second_order.bfgs import BFGS
from caviar.optim.second_order.gradient_descent import GradientDescent
from caviar.optim.second_order.hessian import MAX_DENSE_PARAMS, check_dense, hessian, hvp
from caviar.optim.second_order.lbfgs import LBFGS
from caviar.optim.second_order.line_search import (
    LINE_SEARCHES,
    LineSearchResult,
    armijo,
    golden_section,
)
from caviar.optim.second_order.newton import Newton
from caviar.optim.second_order.objective import Objective, value_and_grad

FULL_BATCH_METHODS: dict[str, type[FullBatchMethod]] = {
    "gd": GradientDescent,
    "gd_linesearch": GradientDescent,
    "newton": Newton,
    "bfgs": BFGS,
    "lbfgs": LBFGS,
}


def make_method(
    name: str,
    x0: torch.Tensor,
    *,
    line_search: str | None = None,
    lr: torch.Tensor | float | None = None,
    damping: torch.Tensor | float | None = None,
    history_size: int | None = None,
    max_evals: int | None = None,
) -> FullBatchMethod:
    """A full-batch method by name; ``gd_linesearch`` is ``gd`` with Armijo by default."""
    if name not in FULL_BATCH_METHODS:
        raise CaviarError(
            f"unknown full-batch method {name!r} (choose from: {', '.join(FULL_BATCH_METHODS)})"
        )
    if name == "gd_linesearch" and line_search is None:
        line_search = "armijo"
    if name == "gd" and line_search is None:
        line_search = "none"
    kw: dict = {"line_search": line_search}
    if lr is not None:
        kw["lr"] = lr
    if max_evals is not None:
        kw["max_evals"] = max_evals
    if name == "newton" and damping is not None:
        kw["damping"] = damping
    if name == "lbfgs" and history_size is not None:
        kw["history_size"] = history_size
    return FULL_BATCH_METHODS[name](x0, **kw)


__all__ = [
    "BFGS",
    "FULL_BATCH_METHODS",
    "LBFGS",
    "LINE_SEARCHES",
    "MAX_DENSE_PARAMS",
    "FullBatchMethod",
    "GradientDescent",
    "LineSearchResult",
    "MinimizeResult",
    "Newton",
    "Objective",
    "StepResult",
    "armijo",
    "check_dense",
    "golden_section",
    "hessian",
    "hvp",
    "make_method",
    "minimize",
    "value_and_grad",
]
