"""Several objectives (``search.objectives``): their names, directions and checks.

.. code-block:: toml

    [search]
    strategy = "nsga2"
    objectives = ["accuracy", "n_params"]     # directions: maximize, minimize
    directions = ["maximize", "minimize"]     # optional; must agree with the defaults
    select = "knee"                           # the final model: first_objective or knee

An objective is one of

* a validation metric ``search.metric`` knows (``accuracy``, ``roc_auc``, ``log_loss``,
  ``rmse``, ...), in its own units and direction (``log_loss`` minimized, not negated);
* ``loss``: the validation loss at the trial's best epoch (minimized);
* ``n_params``: the member's trainable parameters (minimized);
* ``flops``: floating-point operations of one example's forward pass, as
  ``torch.utils.flop_counter.FlopCounterMode`` counts them (2 per multiply-add of the
  matrix products; element-wise operations not counted), minimized;
* ``predict_ms``: milliseconds per example of the member alone predicting the
  validation split (the best of :data:`~caviar.tuning.objective_values.REPEATS`
  timed passes), minimized. A measured time: it varies with the machine's load.

The first objective must be a metric: the trainer scores it every epoch, so successive
halving and early stopping act on it (it becomes ``train.metric``, the trials'
``val_score``). The study is then a multi-objective Optuna study
(``directions=[...]``, the objectives' values in their own units) and the sampler a
multi-objective one (``nsga2``, ``nsga3``, ``tpe``, ``gp``, ``qmc``, ``random``, ``grid``).
"""

from __future__ import annotations

from typing import Any

from caviar.errors import CaviarError
from caviar.training.scoring import METRICS, get_metric

#: objectives that are not validation metrics, all minimized
COSTS = ("loss", "n_params", "flops", "predict_ms")
#: strategies that can search several objectives at once
MULTI_STRATEGIES = ("nsga2", "nsga3", "tpe", "gp", "qmc", "random", "grid")
DIRECTIONS = ("maximize", "minimize")


def objective_names() -> list[str]:
    """Every name ``search.objectives`` accepts: the metrics, then :data:`COSTS`."""
    return [*METRICS, *COSTS]


def default_direction(name: str) -> str:
    """``maximize`` for a metric where higher is better, else ``minimize``."""
    metric = METRICS.get(name)
    return "maximize" if metric is not None and metric.greater_is_better else "minimize"


def directions_of(settings: Any) -> list[str]:
    """The direction of each objective of ``settings`` (a :class:`SearchSettings`):
    ``search.directions`` when given, else the defaults."""
    objectives = list(settings.objectives or [])
    return list(settings.directions or [default_direction(n) for n in objectives])


def is_multi(settings: Any) -> bool:
    """Whether ``settings`` search several objectives."""
    return bool(settings.objectives)


def check_objectives(s: Any) -> None:
    """One-line errors for ``search.objectives``/``directions``/``select`` that cannot
    work: unknown or repeated names, a first objective that is no metric, directions of
    another length or against an objective's meaning, and options that rank by one score."""
    if not s.objectives:
        if s.directions is not None:
            raise CaviarError("search.directions: set search.objectives too")
        if s.select != "first_objective":
            raise CaviarError(f"search.select '{s.select}': needs several search.objectives")
        return
    _check_names(s.objectives)
    if s.metric is not None and s.metric != s.objectives[0]:
        raise CaviarError(
            f"search.metric '{s.metric}' and the first objective '{s.objectives[0]}' "
            "differ (the first objective is the metric; set one)"
        )
    _check_directions(s.objectives, s.directions)
    _check_combinations(s)


def check_objectives_task(s: Any, task: str) -> None:
    """Every metric among ``s.objectives`` fits ``task`` (one-line error otherwise)."""
    for name in s.objectives or []:
        if name in METRICS:
            try:
                get_metric(name, task)
            except CaviarError as e:
                raise CaviarError(f"search.objectives: {e}") from None


def _check_names(objectives: list[str]) -> None:
    known = objective_names()
    for name in objectives:
        if name not in known:
            raise CaviarError(
                f"search.objectives: unknown objective '{name}' (choose from: {', '.join(known)})"
            )
    seen = [n for i, n in enumerate(objectives) if n in objectives[:i]]
    if seen:
        raise CaviarError(f"search.objectives: '{seen[0]}' is listed twice")
    if len(objectives) < 2:
        raise CaviarError("search.objectives: give two or more (one objective is search.metric)")
    if objectives[0] not in METRICS:
        raise CaviarError(
            f"search.objectives: the first objective '{objectives[0]}' must be a validation "
            "metric (halving and early stopping act on it), e.g. ['accuracy', "
            f"'{objectives[0]}']"
        )


def _check_directions(objectives: list[str], directions: list[str] | None) -> None:
    if directions is None:
        return
    if len(directions) != len(objectives):
        raise CaviarError(
            f"search.directions: {len(directions)} directions for {len(objectives)} objectives"
        )
    for i, (name, direction) in enumerate(zip(objectives, directions, strict=True)):
        if direction != default_direction(name):
            raise CaviarError(
                f"search.directions[{i}]: '{name}' is better "
                f"{'higher' if default_direction(name) == 'maximize' else 'lower'}; "
                f"'{direction}' would search for the worst (use "
                f"'{default_direction(name)}')"
            )


def _check_combinations(s: Any) -> None:
    if s.strategy not in MULTI_STRATEGIES:
        raise CaviarError(
            f"search.strategy '{s.strategy}' optimizes one objective; with several "
            f"search.objectives use one of {', '.join(MULTI_STRATEGIES)}"
        )
    refused = {
        "pbt": "PBT copies the members best by one score",
        "cv": "the objectives are measured on one validation split",
        "warm_start": "the earlier run's trials have one score each",
    }
    for key, why in refused.items():
        if getattr(s, key) is not None:
            raise CaviarError(f"search.objectives cannot be combined with search.{key}: {why}")
    if s.ensemble_top_k > 1:
        raise CaviarError(
            "search.objectives cannot be combined with search.ensemble_top_k > 1: an "
            "ensemble is not the member whose objectives were measured"
        )


__all__ = [
    "COSTS",
    "DIRECTIONS",
    "MULTI_STRATEGIES",
    "check_objectives",
    "check_objectives_task",
    "default_direction",
    "directions_of",
    "is_multi",
    "objective_names",
]
