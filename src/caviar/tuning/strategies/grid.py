"""Grid search (:ref:`bg-search-strategies`): the Cartesian
product of ``points`` values per continuous dimension (evenly spaced in the
transformed coordinate, so log-spaced for ``log_uniform``), every integer of a
small integer range, and every choice. Each combination is suggested once, in
a fixed order; ``suggest`` continues after the ``len(history)`` already run."""

from __future__ import annotations

import itertools

import numpy as np

from caviar.tuning.space import SearchSpace
from caviar.tuning.strategies.base import History, Params, Strategy


class GridStrategy(Strategy):
    """Every combination of the dimensions once (``points`` values per continuous axis,
    evenly spaced in its transformed coordinate)."""

    name = "grid"

    def __init__(self, points: int = 3) -> None:
        self.points = points

    def axes(self, space: SearchSpace) -> list[list]:
        return [d.grid_values(self.points) for d in space.dimensions]

    def size(self, space: SearchSpace) -> int:
        return int(np.prod([len(a) for a in self.axes(space)]))

    def suggest(
        self, space: SearchSpace, history: History, n: int, rng: np.random.Generator
    ) -> list[Params]:
        combos = itertools.islice(
            itertools.product(*self.axes(space)), len(history), len(history) + n
        )
        return [dict(zip(space.paths, c, strict=True)) for c in combos]
