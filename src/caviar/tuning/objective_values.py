"""The value of each objective of a finished trial (:mod:`caviar.tuning.objectives`).

The first objective is the trial's validation score (``val_score``, the metric the
trainer scored every epoch) in the metric's own units: a lower-is-better metric's score
``neg_<name>`` is negated back. ``loss`` is the validation loss at the best epoch. The
others are measured on the member alone, rebuilt from its best-epoch weights as a
one-member :class:`~caviar.model.TrainedModel` (what ``caviar predict`` would run):

* another metric: scored on the validation split (with the validation weights, as the
  trainer scores it);
* ``n_params``: the member's trainable parameters;
* ``flops``: ``FlopCounterMode``'s count of one forward pass over ``k`` validation
  examples, divided by ``k``;
* ``predict_ms``: ``1000 * t / n``, ``t`` the fastest of :data:`REPEATS` timed
  predictions of the ``n`` validation examples.

The values are stored with the trial (user attribute ``objectives``, a table name ->
value) and, in objective order, as its values in the multi-objective study.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import torch

from caviar.training.scoring import METRICS, get_metric
from caviar.training.scoring.model import score_model
from caviar.training.weights import split_weights
from caviar.trial import Trial
from caviar.tuning.pareto import stored_objectives

#: timed predictions of the validation split per trial (the fastest one counts)
REPEATS = 3
#: validation examples of the counted forward pass (FLOPs per example)
FLOP_EXAMPLES = 8


def first_value(name: str, val_score: float) -> float:
    """The first objective's value from the oriented validation score: ``val_score``, or
    ``-val_score`` for a metric where lower is better (the score is ``neg_<name>``)."""
    metric = METRICS[name]
    return float(val_score) if metric.greater_is_better else -float(val_score)


def measure(names: list[str], row: Trial, rec: Any, data) -> dict[str, float]:
    """``{objective: value}`` of one finished trial (``row``: its record; ``rec``: its
    :class:`~caviar.tuning.executor.MemberRecord` with the best-epoch weights)."""
    out = {names[0]: first_value(names[0], row.value) if row.scored else math.nan}
    if not row.scored:  # diverged or failed: nothing worth measuring
        return {**out, **{n: math.nan for n in names[1:]}}
    model = _alone(rec, data)
    for name in names[1:]:
        out[name] = _one(name, row, model, data)
    return out


def _alone(rec: Any, data):
    from caviar.tuning.refit import model_from_records

    return model_from_records([rec], data, {})


def _one(name: str, row: Trial, model, data) -> float:
    if name == "loss":
        return float(row.val_loss)
    if name == "n_params":
        return float(model._net.n_params)
    if name == "flops":
        return flops_per_example(model, np.asarray(data.X_val))
    if name == "predict_ms":
        return predict_ms(model, np.asarray(data.X_val))
    return metric_value(name, model, data)


def metric_value(name: str, model, data) -> float:
    """Metric ``name`` of ``model`` on the validation split, in its own units."""
    metric = get_metric(name, data.task)
    cfg = model.configs[0]["train"]
    w = split_weights(cfg.get("class_weight"), data, "val", torch.float64, "cpu")
    x, y = np.asarray(data.X_val), np.asarray(data.y_val)
    score = score_model(model, x, y, name, None if w is None else w.numpy())
    return score if metric is None or metric.greater_is_better else -score


def flops_per_example(model, x: np.ndarray) -> float:
    """FLOPs of one example's forward pass (module docstring)."""
    from torch.utils.flop_counter import FlopCounterMode

    k = max(1, min(FLOP_EXAMPLES, len(x)))
    counter = FlopCounterMode(display=False)
    with counter:
        model.outputs(x[:k])
    return counter.get_total_flops() / k


def predict_ms(model, x: np.ndarray) -> float:
    """Milliseconds per example of ``model`` predicting ``x`` (the fastest of
    :data:`REPEATS` passes; module docstring)."""
    if len(x) == 0:
        return math.nan
    best = math.inf
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        model.outputs(x)
        best = min(best, time.perf_counter() - t0)
    return 1000.0 * best / len(x)


__all__ = [
    "FLOP_EXAMPLES",
    "REPEATS",
    "first_value",
    "flops_per_example",
    "measure",
    "metric_value",
    "predict_ms",
    "stored_objectives",
]
