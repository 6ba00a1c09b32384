"""The strategy interface: ``suggest(space, history, n, rng)`` -> ``n`` parameter sets.

``history`` holds the finished trials as ``(params, score)`` pairs (score: the
validation score, higher is better; ``nan`` for pruned/diverged/failed trials; with
several objectives, ``search.objectives``, the tuple of their values in their own
directions, NaN each where a trial has none).
A strategy is deterministic given its inputs, so a run can be resumed by
replaying the suggestions (the trial identity is the index in that sequence).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from caviar.tuning.space import SearchSpace

Params = dict[str, Any]
Score = float | tuple[float, ...]
History = list[tuple[Params, Score]]


class Strategy:
    """Base class: subclasses implement :meth:`suggest`."""

    name = "base"
    adaptive = False  # True: suggestions depend on the history (run in rounds)

    def suggest(
        self, space: SearchSpace, history: History, n: int, rng: np.random.Generator
    ) -> list[Params]:
        raise NotImplementedError

    def size(self, space: SearchSpace) -> int | None:
        """Number of distinct suggestions (None: unbounded)."""
        return None


def finite_history(history: History) -> History:
    return [(p, s) for p, s in history if s is not None and bool(np.isfinite(s).all())]
