"""The naive baseline every model must beat (:ref:`bg-baselines`: first check
that the model beats the trivial predictor).

Classification: always predict the majority class of the training split; the
score is its accuracy. Regression: always predict the training mean; the score
is R^2 = 1 - SSE/SST (about 0, negative when the split's mean differs).
With a named ``metric`` (``train.metric`` / ``search.metric``) the constant predictor
is scored with that metric instead (:func:`caviar.training.scoring.model.baseline_score`).
"""

from __future__ import annotations

import numpy as np


def _score(task: str, y_true: np.ndarray, y_pred: np.ndarray) -> float:
    if len(y_true) == 0:
        return float("nan")
    if task == "classification":
        return float(np.mean(y_true == y_pred))
    y = np.asarray(y_true, dtype=float).reshape(len(y_true), -1)
    p = np.asarray(y_pred, dtype=float).reshape(y.shape)
    sst = float(((y - y.mean(axis=0)) ** 2).sum())
    return 1.0 - float(((y - p) ** 2).sum()) / max(sst, np.finfo(float).tiny)


def naive_baseline(data, metric: str = "auto") -> dict:
    """``{"name", "val_score", "test_score"}`` of the naive predictor on ``data``."""
    y = np.asarray(data.y_train)
    if metric != "auto":
        from caviar.training.scoring.model import baseline_score

        name = "class frequencies" if data.task == "classification" else "training mean"
        return {
            "name": name,
            "val_score": baseline_score(data, data.y_val, metric),
            "test_score": baseline_score(data, data.y_test, metric),
        }
    if data.task == "classification":
        values, counts = np.unique(y, return_counts=True)
        constant = values[int(np.argmax(counts))]
        name = "majority class"
    else:
        constant = y.reshape(len(y), -1).mean(axis=0)
        name = "training mean"

    def on(y_split):
        if y_split is None or len(y_split) == 0:  # no such split (test_fraction = 0)
            return float("nan")
        y_split = np.asarray(y_split)
        pred = np.broadcast_to(constant, y_split.reshape(len(y_split), -1).shape)
        if data.task == "classification":
            pred = np.full(len(y_split), constant)
        return _score(data.task, y_split, pred)

    return {"name": name, "val_score": on(data.y_val), "test_score": on(data.y_test)}
