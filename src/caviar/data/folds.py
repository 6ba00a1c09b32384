"""k-fold cross-validation splits of train+validation, every row validated exactly once.

``search.cv = k`` / ``train.cv = k`` (:ref:`bg-cross-validation`; refitting reuses the
validation data; k-fold cross-validation spends all of train+validation on validation in turn):
the ``N`` rows of train+validation (:func:`caviar.data.train_val`, training rows
first) are cut into ``k`` held-out folds, stratified by class for classification
(scikit-learn's ``StratifiedKFold(k, shuffle=True, random_state=seed)``; ``KFold`` for
regression), exactly as scikit-learn cuts them. Fold ``f`` trains on every row outside
its held-out fold.

The held-out folds partition the ``N`` rows: every row is validated exactly once. As in
scikit-learn, the first ``N mod k`` folds hold ``m + 1 = N // k + 1`` rows and the
others ``m``, so a fold trains on ``N - m - 1`` or ``N - m`` rows. The ``k`` folds of a
configuration still train as ``k`` members of one population, each following exactly
the trajectory it follows trained alone on its fold (members of unequal training
sizes visit exactly their own mini-batches: :mod:`caviar.training.fold_sizes`). Each
fold's inputs are preprocessed with statistics fitted on its own training rows
(:mod:`caviar.data.fold_preprocess`), so its held-out rows never reach them.
"""

from __future__ import annotations

import numpy as np

from caviar.data.fold_preprocess import fold_inputs
from caviar.errors import CaviarError


def check_cv(k: int | None, y: np.ndarray, task: str, where: str = "search.cv") -> None:
    """A one-line error when ``k`` folds cannot be made from targets ``y``."""
    if k is None:
        return
    n = len(y)
    if k < 2:
        raise CaviarError(f"{where} must be at least 2 folds, got {k}")
    if k > n:
        raise CaviarError(f"{where} = {k} folds: train+validation has only {n} rows")
    if task == "classification":
        counts = np.bincount(np.asarray(y, dtype=np.int64))
        smallest = int(counts[counts > 0].min())
        if k > smallest:
            raise CaviarError(
                f"{where} = {k} folds: the smallest class has only {smallest} rows in "
                "train+validation (each fold needs one of each class); use fewer folds"
            )


def cv_splits(
    y: np.ndarray, k: int, task: str, seed: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``(train_rows, val_rows)``: for each of the ``k`` folds, the sorted row indices
    (int64) into the ``N`` rows of ``y`` it trains on and those it holds out; the
    held-out folds partition ``range(N)``, the first ``N mod k`` one row larger
    (module docstring)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    check_cv(k, y, task)
    n = len(y)
    if task == "classification":
        splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
        folds = [test for _, test in splitter.split(np.zeros((n, 1)), np.asarray(y))]
    else:
        folds = [test for _, test in KFold(k, shuffle=True, random_state=seed).split(np.zeros(n))]
    val_rows = [np.sort(np.asarray(test)).astype(np.int64) for test in folds]
    everything = np.arange(n)
    train_rows = [np.setdiff1d(everything, v).astype(np.int64) for v in val_rows]
    return train_rows, val_rows


def fold_data(data, k: int, fold: int, seed: int):
    """Fold ``fold`` of ``data`` as its own :class:`~caviar.data.PreparedData`: the fold's
    training rows as the training split, its held-out rows as the validation split (the
    test split as it is), the inputs preprocessed with statistics fitted on the fold's
    training rows (:func:`~caviar.data.fold_preprocess.fold_inputs`). What one fold
    member of a population trains on."""
    import dataclasses

    y = data.train_val()[1]
    w = None
    if data.w_train is not None:
        w = np.concatenate([data.w_train, data.w_val])
    train, val = cv_splits(y, k, data.task, seed)
    tr, va = train[fold], val[fold]
    x = fold_inputs(data, tr)
    return dataclasses.replace(
        data,
        raw_train_val=None,
        X_train=x[tr],
        y_train=y[tr],
        X_val=x[va],
        y_val=y[va],
        w_train=None if w is None else w[tr],
        w_val=None if w is None else w[va],
        train_idx=None,
        val_idx=None,
    )
