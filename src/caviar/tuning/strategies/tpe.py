"""Tree-structured Parzen estimator through Optuna's ``TPESampler``.

The finished trials are replayed into an in-memory Optuna study (in transformed
coordinates: ``FloatDistribution(t_lo, t_hi)`` per numeric dimension,
``CategoricalDistribution`` of choice indices), then ``n`` trials are asked with
the constant-liar strategy so a batch spreads out. The sampler seed comes from
``rng``, so a round is reproducible from the same history.
"""

from __future__ import annotations

import warnings

import numpy as np

from caviar.tuning.space import SearchSpace
from caviar.tuning.strategies.base import History, Params, Strategy


def _distributions(space: SearchSpace) -> dict:
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    dists = {}
    for d in space.dimensions:
        if d.categorical:
            dists[d.path] = CategoricalDistribution(list(range(len(d.choices))))
        else:
            lo, hi = d.bounds
            dists[d.path] = FloatDistribution(lo, hi if hi > lo else lo + 1e-12)
    return dists


class TPEStrategy(Strategy):
    """Optuna's TPE sampler, asked for a round of configurations at a time."""

    name = "tpe"
    adaptive = True

    def __init__(self, n_startup_trials: int = 10) -> None:
        self.n_startup_trials = n_startup_trials

    def suggest(
        self, space: SearchSpace, history: History, n: int, rng: np.random.Generator
    ) -> list[Params]:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        dists = _distributions(space)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sampler = optuna.samplers.TPESampler(
                seed=int(rng.integers(2**31)),
                n_startup_trials=self.n_startup_trials,
                constant_liar=True,
            )
            study = optuna.create_study(direction="maximize", sampler=sampler)
            trials = []
            for params, score in history:
                t = {
                    d.path: int(d.to_t(params[d.path])) if d.categorical else d.to_t(params[d.path])
                    for d in space.dimensions
                }
                ok = score is not None and np.isfinite(score)
                trials.append(
                    optuna.trial.create_trial(
                        params=t,
                        distributions=dists,
                        value=float(score) if ok else None,
                        state=optuna.trial.TrialState.COMPLETE
                        if ok
                        else optuna.trial.TrialState.FAIL,
                    )
                )
            study.add_trials(trials)
            out = []
            asked = [study.ask(dists) for _ in range(n)]
        for trial in asked:
            out.append({d.path: d.from_t(trial.params[d.path]) for d in space.dimensions})
        return out
