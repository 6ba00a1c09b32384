"""A named metric for a saved model and for the naive baseline, on numpy splits.

The final model (a member or an ensemble, :class:`~caviar.model.TrainedModel`) is scored
from its combined class probabilities or values, the baseline (:ref:`bg-baselines`)
from constant predictions: the training split's class frequencies (its arg-max is the
majority class; ROC AUC 0.5; the log loss of the prior) or the training mean.
"""

from __future__ import annotations

import numpy as np
import torch

from caviar.training.scoring import UNIT_METRICS, get_metric, target_scale


def _score(
    metric: str, task: str, pred: np.ndarray, y: np.ndarray, weight=None, scale: float = 1.0
) -> float:
    """Oriented score of one predictor: ``pred`` probabilities ``(n, C)`` or values;
    ``scale``: RMSE and MAE of a standardized target back in its units."""
    m = get_metric(metric, task)
    if m is None:  # weighted auto: accuracy or R² with the weights
        m = get_metric("accuracy" if task == "classification" else "r2", task)
    assert m is not None  # a named metric is never None
    target = torch.as_tensor(np.array(y))
    if task == "classification":
        target = target.long()
    else:
        target = target.double().reshape(len(y), -1)
        pred = np.asarray(pred, dtype=np.float64).reshape(target.shape)
    w = None if weight is None else torch.as_tensor(np.asarray(weight, dtype=np.float64))
    pred_t = torch.as_tensor(np.array(pred, dtype=np.float64))[None]
    value = float(m.score(pred_t, target, None if w is None else w.to(pred_t.dtype))[0])
    return value * scale if m.name in UNIT_METRICS else value


def score_model(model, X: np.ndarray, y: np.ndarray, metric: str, weight=None) -> float:
    """Score of ``metric`` (higher is better) of a trained model on preprocessed ``X``;
    ``weight`` per-example weights (or None)."""
    if model.task == "classification":
        return _score(metric, model.task, model.predict_proba(X, preprocessed=True), y, weight)
    scale = target_scale(model)
    return _score(metric, model.task, model.outputs(X).mean(axis=0), y, weight, scale)


def baseline_score(data, y_split, metric: str) -> float:
    """Score of ``metric`` of the naive constant predictor fitted on ``data.y_train``."""
    if y_split is None or len(y_split) == 0:
        return float("nan")
    y = np.asarray(data.y_train)
    n = len(y_split)
    if data.task == "classification":
        prior = np.bincount(y.astype(np.int64), minlength=data.n_classes) / len(y)
        return _score(metric, data.task, np.broadcast_to(prior, (n, prior.size)), y_split)
    mean = y.reshape(len(y), -1).mean(axis=0)
    pred = np.broadcast_to(mean, (n, mean.size))
    return _score(metric, data.task, pred, y_split, scale=target_scale(data))
