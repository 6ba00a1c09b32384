"""Tree-structured Parzen estimator through Optuna's ``TPESampler``.

The finished trials are replayed into an in-memory Optuna study (in transformed
coordinates, :mod:`caviar.tuning.strategies.optuna_study`), then ``n`` trials are asked
with the constant-liar strategy so a batch spreads out. The sampler seed comes from
``rng``, so a round is reproducible from the same history. ``sampler_args`` are further
``TPESampler`` keyword arguments (``[search.sampler]``); ``prior`` are finished trials of
another run (``caviar tune --from``), added before this search's own.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from caviar.tuning.space import SearchSpace
from caviar.tuning.strategies.base import History, Params, Strategy
from caviar.tuning.strategies.optuna_study import (
    add_history,
    distributions,
    from_study_params,
    quiet_study,
)
from caviar.tuning.strategies.sampler_args import make_sampler


class TPEStrategy(Strategy):
    """Optuna's TPE sampler, asked for a round of configurations at a time."""

    name = "tpe"
    adaptive = True

    def __init__(
        self,
        n_startup_trials: int = 10,
        sampler_args: dict[str, Any] | None = None,
        prior: History | None = None,
        directions: list[str] | None = None,
    ) -> None:
        """``directions``: several objectives (a multi-objective study; the history's
        scores are tuples of their values)."""
        self.directions = list(directions) if directions else None
        self.sampler_args = {"n_startup_trials": n_startup_trials, **(sampler_args or {})}
        self.n_startup_trials = self.sampler_args["n_startup_trials"]
        self.prior = list(prior or [])

    def suggest(
        self, space: SearchSpace, history: History, n: int, rng: np.random.Generator
    ) -> list[Params]:
        dists = distributions(space)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            args = {"constant_liar": True, **self.sampler_args}
            sampler = make_sampler("tpe", args, int(rng.integers(2**31)), space)
            study = quiet_study(sampler, self.directions)
            add_history(study, space, [*self.prior, *history], dists)
            asked = [study.ask(dists) for _ in range(n)]
        return [from_study_params(space, t.params) for t in asked]
