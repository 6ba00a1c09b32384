"""The bridge between a :class:`~caviar.tuning.space.SearchSpace` and an in-memory Optuna study.

Every Optuna-backed strategy (``tpe``, ``gp``, ``cmaes``, ``qmc``, ``nsga2``, ``nsga3``)
asks its sampler in the space's *transformed* coordinates: a numeric dimension is
``FloatDistribution(t_lo, t_hi)`` (so a log-uniform learning rate is uniform in
``log10 lr``, exactly as Caviar's own strategies sample it), a choice is a
``CategoricalDistribution`` of its indices. A suggestion goes back to values through
:meth:`~caviar.tuning.space.Dimension.from_t` (clipped, rounded for integers).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from caviar.tuning.space import SearchSpace
from caviar.tuning.strategies.base import History, Params, Score


def distributions(space: SearchSpace) -> dict[str, Any]:
    """One Optuna distribution per dimension, in transformed coordinates."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    dists: dict[str, Any] = {}
    for d in space.dimensions:
        if d.categorical:
            dists[d.path] = CategoricalDistribution(list(range(len(d.choices))))
        else:
            lo, hi = d.bounds
            dists[d.path] = FloatDistribution(lo, hi if hi > lo else lo + 1e-12)
    return dists


def to_study_params(space: SearchSpace, params: Params) -> dict[str, Any]:
    """Values -> the study's coordinates (choice index, transformed float)."""
    return {
        d.path: int(d.to_t(params[d.path])) if d.categorical else d.to_t(params[d.path])
        for d in space.dimensions
    }


def from_study_params(space: SearchSpace, study_params: dict[str, Any]) -> Params:
    """The study's coordinates -> values."""
    return {d.path: d.from_t(study_params[d.path]) for d in space.dimensions}


def finite(score: Score | None) -> bool:
    """A score (or every value of a tuple of objective values) is finite."""
    return score is not None and bool(np.isfinite(np.asarray(score, dtype=float)).all())


def told(score: Score) -> float | list[float]:
    """What ``study.tell`` takes for ``score``: a float, or a list of objective values."""
    return [float(v) for v in score] if isinstance(score, tuple) else float(score)


def completed_trial(space: SearchSpace, params: Params, score: Score | None, dists: dict):
    """A finished trial for ``study.add_trial``: COMPLETE with its score (or objective
    values), or FAIL when one is not finite (pruned, diverged, failed)."""
    import optuna

    ok = finite(score)
    values = [float(v) for v in np.atleast_1d(np.asarray(score, dtype=float))] if ok else None
    return optuna.trial.create_trial(
        params=to_study_params(space, params),
        distributions=dists,
        values=values,
        state=optuna.trial.TrialState.COMPLETE if ok else optuna.trial.TrialState.FAIL,
    )


def same_params(space: SearchSpace, a: Params, b: Params) -> bool:
    """True when two parameter sets are the same configuration (floats to 1e-12)."""
    for d in space.dimensions:
        x, y = a.get(d.path), b.get(d.path)
        if isinstance(x, float) and isinstance(y, float):
            if not math.isclose(x, y, rel_tol=1e-12, abs_tol=0.0):
                return False
        elif x != y:
            return False
    return True


def quiet_study(sampler: Any, directions: list[str] | None = None):
    """A fresh in-memory maximizing study (with ``directions``: a multi-objective one)
    with Optuna's logging at WARNING."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if directions:
        return optuna.create_study(directions=list(directions), sampler=sampler)  # type: ignore[arg-type]
    return optuna.create_study(direction="maximize", sampler=sampler)


def add_history(study: Any, space: SearchSpace, history: History, dists: dict) -> None:
    """Every ``(params, score)`` of ``history`` as a finished trial of ``study``."""
    if history:
        study.add_trials([completed_trial(space, p, s, dists) for p, s in history])
