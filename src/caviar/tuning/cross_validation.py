"""k-fold cross-validation in a search (``search.cv = k``): configurations x folds.

Each population the search plans is run with every configuration repeated ``k``
times, one member per fold (:func:`~caviar.training.cross_validation.expand_folds`:
``train.fold = 0..k-1``, configuration-major), so configurations x folds train as
ONE vectorized program (:mod:`caviar.training.folds` gives each member its fold's
rows). Inside it the folds of a configuration act together: early stopping watches their mean curve,
successive halving ranks and prunes configurations by it, and one fold stopping
stops its configuration. :class:`CrossValidatedExecutor` wraps the search's
executor and folds the ``k`` records of each configuration back into one
(:func:`fold_records`, from
:func:`~caviar.training.cross_validation.fold_members`):

* ``val_score`` (the trial's value, what strategies, ranking and TPE see) is the
  mean of the folds' validation scores at the best epoch of the mean curve;
  ``cv_scores`` keeps each fold's and the report shows their standard deviation;
* the curves (Optuna's intermediate values) are the fold means per epoch;
* ``best_epoch`` is the (rounded) mean best epoch of the folds: the final model is
  refit on all of train+validation for ``best_epoch + 1`` epochs
  (:ref:`bg-early-stopping`; :func:`cv_refit_records`). The test split is touched only
  by that final model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from caviar.training.cross_validation import cv_fields, expand_folds, fold_members
from caviar.trial import Trial
from caviar.tuning.executor import MemberRecord
from caviar.tuning.executor_protocol import EpochHook, Executor, Outcome, PopulationJob


def fold_records(recs: list[MemberRecord], k: int) -> list[MemberRecord]:
    """One record per configuration from its ``k`` fold records (module docstring); the
    weights are fold 0's (the final model is refit on train+validation)."""
    members = fold_members([r.member for r in recs], k)
    out = []
    for i, member in enumerate(members):
        folds = recs[i * k : (i + 1) * k]
        member.index, member.position = folds[0].member.index, folds[0].member.position
        out.append(
            dataclasses.replace(
                folds[0],
                member=member,
                stopped_by=next((r.stopped_by for r in folds if r.stopped_by), None),
                ended=max(r.ended for r in folds),
            )
        )
    return out


def cv_refit_records(
    records: list[MemberRecord], chosen: Sequence[Trial | Mapping[str, Any]]
) -> list[MemberRecord]:
    """The chosen trials' records with the best epoch of their cross-validation (stored
    with the trial; a record trained again alone after ``--resume`` has its own), which
    ``refit_train_val`` turns into ``best_epoch + 1`` epochs on train+validation."""
    out = []
    for r, t in zip(records, chosen, strict=True):
        config = r.member.config.model_copy(deep=True)
        config.train.fold = None
        member = dataclasses.replace(r.member, config=config, best_epoch=int(t["best_epoch"]))
        out.append(dataclasses.replace(r, member=member))
    return out


class CrossValidatedExecutor:
    """An executor running each job's configurations x ``k`` folds as one population
    (through ``inner``) and yielding one folded record per configuration."""

    def __init__(self, inner: Executor, k: int) -> None:
        self.inner, self.k = inner, k
        self.name = inner.name

    @property
    def concurrency(self) -> int:
        return getattr(self.inner, "concurrency", 1)

    def run(
        self,
        jobs: list[PopulationJob],
        data: Any,
        may_start: Callable[[], bool],
        on_epoch: EpochHook | None = None,
    ) -> Iterator[Outcome]:
        wide = {}
        for job in jobs:
            folded = PopulationJob(job.indices, expand_folds(job.configs, self.k), job.callbacks)
            wide[id(folded)] = (folded, job)
        for folded, recs, error in self.inner.run(
            [w for w, _ in wide.values()], data, may_start, on_epoch
        ):
            job = wide[id(folded)][1]
            yield job, None if recs is None else fold_records(recs, self.k), error

    def close(self) -> None:
        self.inner.close()


__all__ = [
    "CrossValidatedExecutor",
    "cv_fields",
    "cv_refit_records",
    "expand_folds",
    "fold_records",
]
