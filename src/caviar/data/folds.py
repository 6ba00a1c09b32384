"""k-fold cross-validation splits of train+validation, with equal held-out folds.

``search.cv = k`` / ``train.cv = k`` (:ref:`bg-cross-validation`; refitting reuses the
validation data; k-fold cross-validation spends all of train+validation on validation in turn):
the ``N`` rows of train+validation (:func:`caviar.data.train_val`, training rows
first) are cut into ``k`` held-out folds, stratified by class for classification
(scikit-learn's ``StratifiedKFold(k, shuffle=True, random_state=seed)``; ``KFold`` for
regression). Fold ``f`` trains on every row outside its held-out fold.

Every held-out fold has exactly ``m = N // k`` rows: the ``N mod k`` rows by which
scikit-learn's larger folds exceed ``m`` (at most one per fold: a seeded draw from
the class most over-represented in that fold) are held out by no fold and train in
every fold. Then every fold trains on ``N - m`` rows and validates on ``m``, so the
``k`` folds of a configuration train as ``k`` members of one population with equal
batches (a member visits its own rows in the population's shared order;
:mod:`caviar.training.folds`), and each fold member follows exactly the trajectory it
follows trained alone on its fold.
"""

from __future__ import annotations

import numpy as np

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


def cv_splits(y: np.ndarray, k: int, task: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train_rows (k, N - m), val_rows (k, m))``: sorted row indices into the ``N``
    rows of ``y`` for each fold, every held-out fold ``m = N // k`` rows (module docstring)."""
    from sklearn.model_selection import KFold, StratifiedKFold

    check_cv(k, y, task)
    n = len(y)
    m = n // k
    if task == "classification":
        splitter = StratifiedKFold(k, shuffle=True, random_state=seed)
        folds = [test for _, test in splitter.split(np.zeros((n, 1)), np.asarray(y))]
    else:
        folds = [test for _, test in KFold(k, shuffle=True, random_state=seed).split(np.zeros(n))]
    rng = np.random.default_rng(seed)
    held = [_trim(test, m, y, task, rng) for test in folds]
    val_rows = np.stack(held).astype(np.int64)
    everything = np.arange(n)
    train_rows = np.stack([np.setdiff1d(everything, v) for v in val_rows]).astype(np.int64)
    return train_rows, val_rows


def _trim(test: np.ndarray, m: int, y: np.ndarray, task: str, rng) -> np.ndarray:
    """``test`` cut to ``m`` rows (sorted): each row dropped is a seeded draw among the
    rows of the class most over-represented in the fold (any row for regression)."""
    test = np.asarray(test)
    while len(test) > m:
        candidates = np.arange(len(test))
        if task == "classification":
            codes = np.asarray(y, dtype=np.int64)
            share = np.bincount(codes) / len(codes)
            excess = np.bincount(codes[test], minlength=len(share)) - m * share
            candidates = np.flatnonzero(codes[test] == int(np.argmax(excess)))
        test = np.delete(test, rng.choice(candidates))
    return np.sort(test)


def fold_data(data, k: int, fold: int, seed: int):
    """Fold ``fold`` of ``data`` as its own :class:`~caviar.data.PreparedData`: the fold's
    training rows as the training split, its held-out rows as the validation split (the
    test split as it is). What one fold member of a population trains on."""
    import dataclasses

    x, y = data.train_val()
    w = None
    if data.w_train is not None:
        w = np.concatenate([data.w_train, data.w_val])
    train, val = cv_splits(y, k, data.task, seed)
    tr, va = train[fold], val[fold]
    return dataclasses.replace(
        data,
        X_train=x[tr],
        y_train=y[tr],
        X_val=x[va],
        y_val=y[va],
        w_train=None if w is None else w[tr],
        w_val=None if w is None else w[va],
        train_idx=None,
        val_idx=None,
    )
