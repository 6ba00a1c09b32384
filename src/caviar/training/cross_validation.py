"""k-fold cross-validation of configurations (``train.cv = k``): configurations x folds.

Every configuration is repeated ``k`` times, one member per fold (:func:`expand_folds`:
``train.fold = 0..k-1``, configuration-major), so configurations x folds train as ONE
vectorized population (:mod:`caviar.training.folds` gives each member its fold's rows;
the folds of a configuration stop together on the mean curve). :func:`fold_members`
turns the ``k`` members of each configuration back into one result:

* ``val_score`` (what ranks configurations) is the mean of the folds' validation
  scores at the best epoch of their mean curve; ``cv_scores`` keeps each fold's;
* the curves are the fold means, epoch by epoch;
* ``best_epoch`` is the (rounded) mean of the folds' best epochs: the final model is
  retrained on all of train+validation for ``best_epoch + 1`` epochs
  (:ref:`bg-early-stopping`), which :func:`train_cross_validated` does for ``caviar train``
  (``caviar tune``: :mod:`caviar.tuning.cross_validation`).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from caviar.config import RunConfig
from caviar.training.refit import refit
from caviar.training.result import HISTORY_KEYS, MemberResult, PopulationResult
from caviar.training.trainer import train_population

# the worst status of a configuration's folds is its status
STATUS_ORDER = ("diverged", "pruned", "early_stopped", "complete")


def expand_folds(configs: list[RunConfig], k: int) -> list[RunConfig]:
    """Each configuration ``k`` times, fold ``0..k-1`` (configuration-major)."""
    out = []
    for cfg in configs:
        for f in range(k):
            c = cfg.model_copy(deep=True)
            c.train.cv, c.train.fold = k, f
            out.append(c)
    return out


def fold_rows(indices: list[int], k: int) -> list[int]:
    """The configuration (or trial) index of each population row of
    :func:`expand_folds`: every index ``k`` times, configuration-major."""
    return [i for i in indices for _ in range(k)]


def _mean_curve(curves: list[list[float]]) -> list[float]:
    """The mean over folds, epoch by epoch (a fold that stopped earlier ends the curve)."""
    n = min(len(c) for c in curves)
    return np.mean(np.array([c[:n] for c in curves], dtype=np.float64), axis=0).tolist()


def fold_members(members: list[MemberResult], k: int) -> list[MemberResult]:
    """One result per configuration from the results of its ``k`` folds (module docstring)."""
    out = []
    for i in range(0, len(members), k):
        folds = members[i : i + k]
        first = folds[0]
        config = first.config.model_copy(deep=True)
        config.train.fold = None
        best = [m.best_epoch for m in folds]

        def mean(name: str, folds=folds) -> float:
            return float(np.mean([getattr(m, name) for m in folds]))

        out.append(
            dataclasses.replace(
                first,
                index=i // k,
                position=i // k,
                config=config,
                status=min((m.status for m in folds), key=STATUS_ORDER.index),
                best_epoch=int(round(float(np.mean(best)))) if min(best) >= 0 else -1,
                epochs_run=max(m.epochs_run for m in folds),
                history={key: _mean_curve([m.history[key] for m in folds]) for key in HISTORY_KEYS},
                val_loss=mean("val_loss"),
                val_score=mean("val_score"),
                train_loss=mean("train_loss"),
                train_score=mean("train_score"),
                val_default_score=mean("val_default_score"),
                cv_scores=[float(m.val_score) for m in folds],
            )
        )
    return out


def cv_fields(member) -> dict:
    """A result's cross-validation fields: ``cv`` folds, ``cv_scores``, ``cv_std``."""
    scores = getattr(member, "cv_scores", None)
    if not scores:
        return {}
    finite = all(math.isfinite(s) for s in scores)
    std = float(np.std(scores)) if finite else float("nan")
    return {"cv": len(scores), "cv_scores": list(scores), "cv_std": std}


def train_cross_validated(
    configs: list[RunConfig], data, *, on_epoch=None, callbacks=()
) -> PopulationResult:
    """``caviar train`` with ``train.cv = k``: configurations x folds as one population,
    then every configuration retrained on train+validation for its folds' mean best
    epoch count (``refit`` strategy ``fresh``). The result's members are the folded
    results (``cv_scores``, ``refit_epochs``); its model holds the retrained weights,
    one row per configuration, which the test split scores."""
    cv = configs[0].train.cv
    assert cv is not None  # caviar.train calls this only with train.cv set
    k = int(cv)
    folded = train_population(
        expand_folds(configs, k), data, on_epoch=on_epoch, callbacks=callbacks
    )
    members = fold_members(folded.members, k)
    summary = dataclasses.replace(folded, members=members)
    final = refit(summary, data, "fresh")
    for m, r in zip(members, final.members, strict=True):
        m.refit_epochs = r.epochs_run
    return dataclasses.replace(final, members=members)
