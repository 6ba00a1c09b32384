"""Search strategies behind one interface: ``suggest(space, history, n, rng)``."""

from __future__ import annotations

from caviar.tune.strategies.base import Strategy
from caviar.tune.strategies.coarse_to_fine import CoarseToFineStrategy
from caviar.tune.strategies.grid import GridStrategy
from caviar.tune.strategies.random import RandomStrategy
from caviar.tune.strategies.tpe import TPEStrategy


def batch_size(settings) -> int:
    """Configurations per round: all trials at once for grid/random, else ``batch``."""
    if settings.batch is not None:
        return settings.batch
    if settings.strategy in ("grid", "random") and settings.trials is not None:
        return settings.trials
    return 16


def make_strategy(settings) -> Strategy:
    """The strategy named by ``settings.strategy`` (a :class:`SearchSettings`)."""
    name = settings.strategy
    if name == "grid":
        return GridStrategy(settings.grid_points)
    if name == "random":
        return RandomStrategy()
    if name == "coarse_to_fine":
        return CoarseToFineStrategy(settings.top_fraction, settings.shrink, batch_size(settings))
    return TPEStrategy()


__all__ = [
    "CoarseToFineStrategy",
    "GridStrategy",
    "RandomStrategy",
    "Strategy",
    "TPEStrategy",
    "batch_size",
    "make_strategy",
]
