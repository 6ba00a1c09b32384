"""Random search (:ref:`bg-search-strategies`): every dimension
drawn independently and uniformly in its transformed coordinate."""

from __future__ import annotations

import numpy as np

from caviar.tuning.space import SearchSpace
from caviar.tuning.strategies.base import History, Params, Strategy


class RandomStrategy(Strategy):
    """Each dimension sampled uniformly in its transformed coordinate."""

    name = "random"

    def suggest(
        self, space: SearchSpace, history: History, n: int, rng: np.random.Generator
    ) -> list[Params]:
        return [space.sample(rng) for _ in range(n)]
