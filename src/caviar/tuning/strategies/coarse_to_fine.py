"""Coarse-to-fine search (:ref:`bg-search-strategies`: a coarse sample of all
combinations, then a dense sample within the region of the better ones).

Round 0 samples the whole space at random. Each later round takes the best
``top_fraction`` of the finished trials, and for every numeric dimension the box
``[min t, max t]`` of their transformed coordinates, widened to at least
``shrink^round`` of the full range around its centre (``round``: finished
rounds of ``batch`` trials); it samples uniformly in that box (so the region
shrinks in log space for log dimensions). Categorical dimensions are drawn
from the choices the best trials used.
"""

from __future__ import annotations

from typing import cast

import numpy as np

from caviar.tuning.space import SearchSpace
from caviar.tuning.strategies.base import History, Params, Strategy, finite_history

# ``prior`` (finished trials of another run, ``caviar tune --from``) joins the ranking
# from the first round; the shrinking counts this search's own rounds only.


class CoarseToFineStrategy(Strategy):
    """Sample the whole space, then each round inside the box of the best trials so far,
    shrinking it in the transformed coordinates."""

    name = "coarse_to_fine"
    adaptive = True

    def __init__(
        self,
        top_fraction: float = 0.25,
        shrink: float = 0.5,
        batch: int = 16,
        prior: History | None = None,
    ) -> None:
        self.top_fraction = top_fraction
        self.shrink = shrink
        self.batch = batch
        self.prior = list(prior or [])

    def region(self, space: SearchSpace, history: History) -> list[tuple[float, float] | list]:
        """Per dimension: a ``(lo, hi)`` box in t, or the list of allowed choice indices."""
        done = finite_history([*self.prior, *history])
        if not done:
            return [
                d.bounds if not d.categorical else list(range(len(d.choices)))
                for d in space.dimensions
            ]
        done.sort(key=lambda ps: -cast(float, ps[1]))  # one objective: a float score
        k = max(2, int(np.ceil(self.top_fraction * len(done))))
        top = [p for p, _ in done[:k]]
        round_ = max(1, len(history) // self.batch)  # rounds finished so far
        width_frac = max(self.shrink**round_, 0.02)
        out: list = []
        for d in space.dimensions:
            if d.categorical:
                out.append(sorted({int(d.to_t(p[d.path])) for p in top}))
                continue
            ts = np.array([d.to_t(p[d.path]) for p in top])
            b_lo, b_hi = d.bounds
            lo, hi = float(ts.min()), float(ts.max())
            need = width_frac * (b_hi - b_lo)
            if hi - lo < need:
                c = (lo + hi) / 2
                lo, hi = c - need / 2, c + need / 2
            out.append((max(lo, b_lo), min(hi, b_hi)))
        return out

    def suggest(
        self, space: SearchSpace, history: History, n: int, rng: np.random.Generator
    ) -> list[Params]:
        region = self.region(space, history)
        out = []
        for _ in range(n):
            params = {}
            for d, r in zip(space.dimensions, region, strict=True):
                if d.categorical:
                    params[d.path] = d.from_t(float(r[int(rng.integers(len(r)))]))
                else:
                    params[d.path] = d.sample(rng, r[0], r[1])
            out.append(params)
        return out
