"""Validation metrics users tune for (``search.metric`` / ``train.metric``), per member.

Every metric scores all ``P`` members in one batched pass and returns ``(P,)``. Inside
caviar a *score* is always "higher is better": a metric where lower is better (log loss,
RMSE, MAE) is negated and named ``neg_<name>``, as scikit-learn's ``scoring=`` does, so
ranking, early stopping, successive halving, PBT and the strategies need no direction.

``metric = "auto"`` keeps the defaults: accuracy (classification) or R² pooled over the
outputs (regression) as the score, and early stopping on the validation loss. A named
metric is also what early stopping watches (the best-epoch restore picks its best epoch).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from caviar.errors import CaviarError
from caviar.training.metrics import accuracy as _codes_accuracy
from caviar.training.metrics import predicted_class, r2_score
from caviar.training.scoring import counts, regression
from caviar.training.scoring.log_loss import log_loss
from caviar.training.scoring.roc_auc import roc_auc

AUTO = "auto"
MetricFn = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]


@dataclass(frozen=True)
class Metric:
    """A metric: ``fn(pred, target, weight) -> (P,)`` on class probabilities ``(P, n, C)``
    (classification) or outputs ``(P, n, K)`` (regression), and its direction."""

    name: str
    task: str
    greater_is_better: bool
    fn: MetricFn

    @property
    def score_name(self) -> str:
        """The name of the higher-is-better score: ``name`` or ``neg_<name>``."""
        return self.name if self.greater_is_better else f"neg_{self.name}"

    def score(self, pred: torch.Tensor, target: torch.Tensor, weight=None) -> torch.Tensor:
        """The oriented score ``(P,)`` (negated when lower is better)."""
        value = self.fn(pred, target, weight)
        return value if self.greater_is_better else -value


_C, _R = "classification", "regression"
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", _C, True, counts.accuracy),
        Metric("balanced_accuracy", _C, True, counts.balanced_accuracy),
        Metric("f1_macro", _C, True, counts.f1_macro),
        Metric("f1_weighted", _C, True, counts.f1_weighted),
        Metric("precision", _C, True, counts.precision),
        Metric("recall", _C, True, counts.recall),
        Metric("roc_auc", _C, True, roc_auc),
        Metric("log_loss", _C, False, log_loss),
        Metric("r2", _R, True, regression.r2),
        Metric("rmse", _R, False, regression.rmse),
        Metric("mae", _R, False, regression.mae),
    )
}
METRIC_NAMES = (AUTO, *METRICS)


def get_metric(name: str, task: str) -> Metric | None:
    """The metric called ``name`` for ``task`` (None for ``auto``); a one-line error else."""
    if name == AUTO:
        return None
    metric = METRICS.get(name)
    if metric is None:
        raise CaviarError(f"unknown metric '{name}' (choose from: {', '.join(METRIC_NAMES)})")
    if metric.task != task:
        names = ", ".join(m for m, v in METRICS.items() if v.task == task)
        raise CaviarError(
            f"metric '{name}' is for {metric.task}, the data is a {task} task "
            f"(choose from: {names})"
        )
    return metric


def score_name(name: str, task: str) -> str:
    """What the score of ``metric = name`` is called in tables and summaries."""
    metric = get_metric(name, task)
    if metric is None:
        return "accuracy" if task == _C else "r2"
    return metric.score_name


def perfect_score(name: str, task: str) -> float:
    """The best possible score: 1 (accuracy, R², F1, AUC, ...) or 0 (a negated error)."""
    metric = get_metric(name, task)
    return 1.0 if metric is None or metric.greater_is_better else 0.0


#: metrics in the target's units: a standardized target's scores are scaled back by its std
UNIT_METRICS = ("rmse", "mae")


def target_scale(data) -> float:
    """The standard deviation a regression target was standardized by, else 1
    (``data.standardize_target``, :mod:`caviar.data.preprocess`)."""
    return float(getattr(getattr(data, "preprocessor", None), "target_std", None) or 1.0)


def score_outputs(
    name: str, spec, outputs: torch.Tensor, target: torch.Tensor, weight=None, scale: float = 1.0
) -> torch.Tensor:
    """Oriented score ``(P,)`` of raw network outputs ``(P, n, K)`` trained with the loss
    ``spec`` (its ``proba`` turns outputs into class probabilities); ``scale``: the
    target's standardization std, so RMSE and MAE are in the target's units (R² is the
    same in both)."""
    metric = get_metric(name, spec.task)
    if metric is None and weight is not None:  # weighted accuracy or R² (per output)
        metric = METRICS["accuracy" if spec.task == _C else "r2"]
    if metric is None:
        if spec.task == _C:
            return _codes_accuracy(predicted_class(outputs), target).to(outputs.dtype)
        return r2_score(outputs, target)
    pred = spec.predict_proba(outputs) if spec.task == _C else outputs
    value = metric.score(pred, target, weight)
    return value * scale if metric.name in UNIT_METRICS and scale != 1.0 else value


__all__ = [
    "AUTO",
    "METRICS",
    "METRIC_NAMES",
    "Metric",
    "get_metric",
    "perfect_score",
    "score_name",
    "score_outputs",
    "target_scale",
]
