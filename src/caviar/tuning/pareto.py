"""Pareto fronts of a multi-objective search and the rule that picks its final model.

With objective values ``v[i, j]`` (trial ``i``, objective ``j``) each turned to "higher is
better" (``o[i, j] = v[i, j]`` when maximized, ``-v[i, j]`` when minimized), trial ``a``
*dominates* ``b`` when ``o[a, j] >= o[b, j]`` for every ``j`` and ``o[a, j] > o[b, j]``
for some ``j``. Front 1 (the Pareto front) holds the trials no trial dominates; front
``k + 1`` those only trials of fronts ``1..k`` dominate (non-dominated sorting, as
NSGA-II ranks). Trials without a finite value for every objective are on no front
(front 0 in :func:`front_ranks`; ranked after every front).

``search.select`` picks the final model among front 1:

* ``"first_objective"`` (default): the best first objective (ties: lower validation
  loss, then lower trial index), the trial a single-objective search would pick;
* ``"knee"``: the trial closest to the utopia point once each objective is scaled to
  [0, 1] over the front, ``u[i, j] = (o[i, j] - min_f o[:, j]) / (max_f o[:, j] -
  min_f o[:, j])`` (1 = the front's best; ``u = 1`` for an objective the whole front
  shares), that is the trial minimizing ``d_i = sqrt(sum_j (1 - u[i, j])^2)`` (ties: the
  ``first_objective`` order). The knee trades the objectives evenly: no objective is at
  its worst while another is only slightly better than elsewhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from caviar.trial import COMPLETE_STATES, Trial, rank_key

SELECT_RULES = ("first_objective", "knee")


def stored_objectives(t: Trial, names: list[str]) -> list[float]:
    """A trial's objective values in ``names`` order (NaN where it has none)."""
    values = t.get("objectives") or {}
    return [_float(values.get(n)) for n in names]


def _float(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) else math.nan


def oriented(values: Sequence[Sequence[float]], directions: Sequence[str]) -> np.ndarray:
    """``(n, m)`` values turned to "higher is better" (minimized objectives negated)."""
    v = np.asarray(values, dtype=np.float64).reshape(len(values), len(directions))
    sign = np.array([1.0 if d == "maximize" else -1.0 for d in directions])
    return v * sign


def front_ranks(values: Sequence[Sequence[float]], directions: Sequence[str]) -> list[int]:
    """The front of each row of ``values`` (1 = the Pareto front; 0: a value missing)."""
    o = oriented(values, directions)
    ranks = np.zeros(len(o), dtype=np.int64)
    left = np.flatnonzero(np.isfinite(o).all(axis=1))
    front = 0
    while left.size:
        front += 1
        rest = o[left]
        beaten = np.array(
            [((rest >= p).all(axis=1) & (rest > p).any(axis=1)).any() for p in rest],
            dtype=bool,
        )
        ranks[left[~beaten]] = front
        left = left[beaten]
    return ranks.tolist()


def knee_index(values: Sequence[Sequence[float]], directions: Sequence[str]) -> int:
    """The row of ``values`` (a front) closest to the utopia point (module docstring);
    ties: the first such row."""
    o = oriented(values, directions)
    lo, hi = o.min(axis=0), o.max(axis=0)
    span = np.where(hi > lo, hi - lo, 1.0)
    u = np.where(hi > lo, (o - lo) / span, 1.0)
    d = np.sqrt(((1.0 - u) ** 2).sum(axis=1))
    return int(np.argmin(d))


def select_index(values: Sequence[Sequence[float]], directions: Sequence[str], rule: str) -> int:
    """The row of ``values`` (the front, in ``first_objective`` order) ``rule`` picks."""
    if rule not in SELECT_RULES:
        raise ValueError(f"unknown select rule '{rule}' (choose from: {', '.join(SELECT_RULES)})")
    if rule == "knee":
        return knee_index(values, directions)
    return 0


def finite_all(values: Sequence[float]) -> bool:
    """Whether every value is a finite number."""
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values)


# -- trials ---------------------------------------------------------------------------
#: the states whose trials stand on a front: those the study holds as COMPLETE
#: (converged members included), so the front is Optuna's ``study.best_trials`` (a trial
#: pruned by halving lost on the first objective and is left out)
FRONT_STATES = COMPLETE_STATES


def trial_fronts(trials: Sequence[Trial], names: list[str], directions: list[str]) -> list[int]:
    """The front of each trial (1 = the Pareto front; 0: pruned, failed or missing a
    value), from the objective values each trial stores."""
    values = [
        stored_objectives(t, names) if t.state in FRONT_STATES else [math.nan] * len(names)
        for t in trials
    ]
    return front_ranks(values, directions) if values else []


def rank_by_front(trials: Sequence[Trial], names: list[str], directions: list[str]) -> list[Trial]:
    """``trials`` with their ``front`` attribute, the Pareto front first, then front 2,
    ..., then the trials on no front; within a front as a single-objective search ranks
    (:func:`caviar.trial.rank_key`)."""
    fronts = trial_fronts(trials, names, directions)
    marked = [t.with_attrs(front=f) for t, f in zip(trials, fronts, strict=True)]
    return sorted(marked, key=lambda t: (t.get("front") or math.inf, rank_key(t)))


def pareto_trials(trials: Sequence[Trial], names: list[str], directions: list[str]) -> list[Trial]:
    """The Pareto front (front 1) in :func:`caviar.trial.rank_key` order."""
    ranked = rank_by_front(trials, names, directions)
    return [t for t in ranked if t.get("front") == 1]


def select_trial(
    trials: Sequence[Trial], names: list[str], directions: list[str], rule: str
) -> Trial | None:
    """The trial ``rule`` (``search.select``) picks on the Pareto front (module
    docstring); None when the front is empty."""
    front = pareto_trials(trials, names, directions)
    if not front:
        return None
    values = [stored_objectives(t, names) for t in front]
    return front[select_index(values, directions, rule)]


__all__ = [
    "FRONT_STATES",
    "SELECT_RULES",
    "finite_all",
    "front_ranks",
    "knee_index",
    "oriented",
    "pareto_trials",
    "rank_by_front",
    "select_index",
    "select_trial",
    "stored_objectives",
    "trial_fronts",
]
