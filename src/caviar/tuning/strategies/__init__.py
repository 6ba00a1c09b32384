"""Search strategies behind one interface: ``suggest(space, history, n, rng)``."""

from __future__ import annotations

from caviar.tuning.objectives import directions_of
from caviar.tuning.space import SearchSpace
from caviar.tuning.strategies.base import History, Strategy
from caviar.tuning.strategies.coarse_to_fine import CoarseToFineStrategy
from caviar.tuning.strategies.enqueue import EnqueuedStrategy
from caviar.tuning.strategies.grid import GridStrategy
from caviar.tuning.strategies.optuna_sampler import OptunaSamplerStrategy
from caviar.tuning.strategies.random import RandomStrategy
from caviar.tuning.strategies.sampler_args import SAMPLERS
from caviar.tuning.strategies.tpe import TPEStrategy

#: configurations suggested at most per round: a huge ``trials`` is a budget, and
#: suggesting it all at once would fill memory before any training
MAX_ROUND = 4096


def batch_size(settings) -> int:
    """Configurations per round: ``batch``, else all trials at once for grid/random (at
    most :data:`MAX_ROUND`, in rounds after that), else 16."""
    if settings.batch is not None:
        return min(settings.batch, MAX_ROUND)
    if settings.strategy in ("grid", "random") and settings.trials is not None:
        return min(settings.trials, MAX_ROUND)
    return 16


def make_strategy(settings, prior: History | None = None) -> Strategy:
    """The strategy named by ``settings.strategy`` (a :class:`SearchSettings`), its first
    trials taken by ``settings.enqueue``; ``prior``: finished trials of another run
    (``search.warm_start``, :func:`caviar.tuning.warm_start.load_prior`) for the adaptive
    strategies to learn from."""
    strategy = _named(settings, list(prior or []))
    if settings.enqueue:
        return EnqueuedStrategy(strategy, settings.enqueue)
    return strategy


def _named(settings, prior: History) -> Strategy:
    name = settings.strategy
    if name == "grid":
        return GridStrategy(settings.grid_points)
    if name == "random":
        return RandomStrategy()
    if name == "coarse_to_fine":
        return CoarseToFineStrategy(
            settings.top_fraction, settings.shrink, batch_size(settings), prior=prior
        )
    # several objectives (search.objectives): a multi-objective study of their directions
    directions = directions_of(settings) if getattr(settings, "objectives", None) else None
    if name == "tpe":
        return TPEStrategy(sampler_args=settings.sampler, prior=prior, directions=directions)
    return OptunaSamplerStrategy(
        name, settings.sampler, seed=settings.seed, batch=batch_size(settings), prior=prior,
        directions=directions,
    )  # fmt: skip


__all__ = [
    "SAMPLERS",
    "CoarseToFineStrategy",
    "EnqueuedStrategy",
    "GridStrategy",
    "OptunaSamplerStrategy",
    "RandomStrategy",
    "SearchSpace",
    "Strategy",
    "TPEStrategy",
    "batch_size",
    "make_strategy",
]
