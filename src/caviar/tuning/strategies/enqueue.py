"""Warm starts: given configurations trained first (``search.enqueue``).

As Optuna's ``study.enqueue_trial``: the first trials of the search are the enqueued
parameter sets, in order; a set may name only some dimensions, the others taking the
strategy's own suggestion for that trial. The wrapped strategy is asked for every trial
as usual (so the rest of the sequence is the one it would suggest anyway, and a resumed
search rebuilds the same trials), and the enqueued values replace its values in the
first ``len(enqueued)`` positions. Adaptive strategies see the enqueued trials' scores
like any other finished trial.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from caviar.errors import CaviarError
from caviar.tuning.space import Dimension, SearchSpace
from caviar.tuning.strategies.base import History, Params, Strategy


class EnqueuedStrategy(Strategy):
    """``inner``'s suggestions with the first positions taken by ``enqueued``."""

    def __init__(self, inner: Strategy, enqueued: list[Params]) -> None:
        self.inner = inner
        self.enqueued = [dict(p) for p in enqueued]
        self.name = inner.name
        self.adaptive = inner.adaptive

    def size(self, space: SearchSpace) -> int | None:
        return self.inner.size(space)

    def suggest(
        self, space: SearchSpace, history: History, n: int, rng: np.random.Generator
    ) -> list[Params]:
        out = self.inner.suggest(space, history, n, rng)
        start = len(history)  # the position of this round's first trial
        for j, params in enumerate(out):
            if start + j < len(self.enqueued):
                params.update(copy.deepcopy(self.enqueued[start + j]))
        return out


def check_enqueued(space: SearchSpace, enqueued: list[Any]) -> list[Params]:
    """Each enqueued set: a table of dimension = value inside the space (one-line errors)."""
    by_path = {d.path: d for d in space.dimensions}
    out = []
    for i, params in enumerate(enqueued):
        where = f"search.enqueue[{i}]"
        if not isinstance(params, dict) or not params:
            raise CaviarError(f"{where}: a table of dimension = value, got {params!r}")
        for path, value in params.items():
            if path not in by_path:
                raise CaviarError(
                    f"{where}: '{path}' is not a dimension of the space "
                    f"({', '.join(by_path) or 'empty space'})"
                )
            _check_value(by_path[path], value, f"{where}.{path}")
        out.append(dict(params))
    return out


def _check_value(d: Dimension, value: Any, where: str) -> None:
    if d.categorical:
        if not any(c == value for c in d.choices):
            raise CaviarError(f"{where}: {value!r} is not one of {list(d.choices)}")
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CaviarError(f"{where}: {value!r} is not a number")
    if d.integer and value != int(value):
        raise CaviarError(f"{where}: {value!r} is not an integer")
    if not (math.isfinite(value) and d.low <= value <= d.high):
        raise CaviarError(f"{where}: {value!r} is outside [{d.low}, {d.high}]")
