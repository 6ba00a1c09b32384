"""Ensembles as one saved model (:ref:`bg-ensembles`: the final output is
the average of many models, which do not all make the same errors on the test set).

Kinds (all produce one :class:`~caviar.model.TrainedModel` directory):

* top-k: the ``k`` best members (validation score) of the best member's
  population; members differ by hyperparameters, seeds (``train.seed``), data
  order (``train.sampling = "shuffle"``) or bootstrap samples (``"bootstrap"``);
* snapshots: the best member's weights saved every ``ensemble.snapshot_every``
  epochs during training (best with a cyclic learning rate), the last ``k`` kept.

Combination: ``mean`` averages probabilities (classification) or values
(regression); ``vote`` takes the majority class of the members (ties to the
lowest class code).
"""

from __future__ import annotations

import numpy as np

from caviar.errors import CaviarError
from caviar.model import TrainedModel
from caviar.training.metrics import r2_score
from caviar.training.result import MemberResult, PopulationResult
from caviar.training.scoring.model import score_model


def top_k(ranked: list[MemberResult], population: int, k: int) -> list[int]:
    """Positions of the ``k`` best members of population ``population`` (ranked order)."""
    pool = [m for m in ranked if m.population == population]
    if k > len(pool):
        raise CaviarError(f"ensemble.size {k} is larger than the population of {len(pool)} members")
    return [m.position for m in pool[:k]]


def build_ensemble(
    result: PopulationResult,
    ranked: list[MemberResult],
    population: int,
    data,
    *,
    size: int,
    method: str = "mean",
    snapshots: bool = False,
    metrics: dict | None = None,
) -> TrainedModel:
    """The saved model: top-``size`` members, or the best member's last ``size`` snapshots."""
    best = ranked[0]
    if snapshots:
        shots = result.snapshots
        if not shots:
            raise CaviarError("ensemble.snapshot_every took no snapshot (fewer epochs ran)")
        if size > len(shots):
            raise CaviarError(f"ensemble.size {size} is larger than the {len(shots)} snapshots")
        return TrainedModel.from_snapshots(
            result, best.position, shots[-size:], data, metrics, combine=method
        )
    members = top_k(ranked, population, size)
    return TrainedModel.from_population(result, members, data, metrics, combine=method)


def model_scores(
    model: TrainedModel, X: np.ndarray, y: np.ndarray, metric: str = "auto"
) -> tuple[float, float]:
    """``(loss, score)`` of a (possibly ensemble) model on preprocessed ``X``.

    Score: accuracy or R^2, or the named ``metric`` (:mod:`caviar.training.scoring`).
    Loss: log loss of the combined probabilities (classification) or mean squared error
    of the combined values (regression); a voting ensemble has no probabilities to
    score, its loss is NaN.
    """
    if model.task == "classification":
        proba = model.predict_proba(X, preprocessed=True)
        y = np.asarray(y, dtype=np.int64)
        acc = float((proba.argmax(axis=1) == y).mean())
        if metric != "auto":
            acc = score_model(model, X, y, metric)
        if model.combine == "vote":
            return float("nan"), acc
        p = np.clip(proba[np.arange(len(y)), y], 1e-12, 1.0)
        return float(-np.log(p).mean()), acc
    import torch

    out = model.outputs(X).mean(axis=0)
    target = np.asarray(y, dtype=np.float64).reshape(out.shape)
    mse = float(((out - target) ** 2).mean())
    r2 = float(r2_score(torch.as_tensor(out)[None], torch.as_tensor(target))[0])
    return mse, r2 if metric == "auto" else score_model(model, X, y, metric)
