"""Seeded train / validation / test split of row indices, stratified for classification.

Sizes (``round`` is round-half-up): ``n_test = round(test_fraction * n)`` and
``n_val = round(val_fraction * n)``, each at least 1 when its fraction is
positive; ``n_train`` is the rest and must be at least 1. Fractions must satisfy
``0 < val_fraction``, ``0 <= test_fraction`` and ``val_fraction + test_fraction < 1``
(the trainer always needs a validation split; a test split is optional).

Procedure: scikit-learn's ``train_test_split`` twice, first taking the test rows
from all rows, then the validation rows from the remainder, both with
``random_state=seed``. For classification both calls pass ``stratify`` so each
split keeps the class proportions (per class, within about one example).

Stratification fallback: stratifying needs every class to have at least two
rows in each stage and each split to have at least one row per class. When that
fails (a class too rare for the split), the whole split is done without
stratification, with the same seed and sizes, and a :class:`UserWarning` names
the rarest class. Rare classes may then be missing from some split; the label
encoding in :mod:`caviar.data.dataset` covers all classes of the full target, so
every split stays encodable. A validation split of fewer than :data:`MIN_VAL_ROWS`
rows, or fewer rows than classes, draws a :class:`~caviar.errors.CaviarWarning` (one
line in the CLI).

Returned index arrays are ``int64`` and sorted (training shuffles per epoch).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from caviar.data.task import Task
from caviar.errors import CaviarError, CaviarWarning

#: fewer validation rows than this draw a warning (a score of so few rows is noise)
MIN_VAL_ROWS = 5


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def split_sizes(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int, int]:
    """Validate fractions and return ``(n_train, n_val, n_test)`` for ``n`` rows.

    Raises:
        CaviarError: fractions out of range or too few rows for the split.
    """
    for label, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise CaviarError(f"{label} must be a number in [0, 1); got {value!r}")
    if not 0 < val_fraction < 1:
        raise CaviarError(f"val_fraction must be in (0, 1); got {val_fraction}")
    if not 0 <= test_fraction < 1:
        raise CaviarError(f"test_fraction must be in [0, 1); got {test_fraction}")
    if val_fraction + test_fraction >= 1:
        raise CaviarError(
            f"val_fraction + test_fraction must be < 1 to leave training rows; got "
            f"{val_fraction} + {test_fraction}"
        )
    n_test = max(1, _round_half_up(test_fraction * n)) if test_fraction > 0 else 0
    n_val = max(1, _round_half_up(val_fraction * n))
    n_train = n - n_val - n_test
    if n_train < 1:
        need = 3 if n_test else 2
        raise CaviarError(
            f"too few rows ({n}) for val_fraction={val_fraction} and "
            f"test_fraction={test_fraction}: need at least {need} rows (one per split)"
        )
    return n_train, n_val, n_test


def split_indices(
    n: int,
    y: Any,
    *,
    task: Task,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split ``range(n)`` into sorted ``(train_idx, val_idx, test_idx)`` int64 arrays.

    Args:
        n: number of rows.
        y: the target (length ``n``), used to stratify when ``task`` is
            ``"classification"``; may be ``None`` for regression.
        task: ``"classification"`` (stratified) or ``"regression"``.
        val_fraction: fraction of rows for validation, in (0, 1).
        test_fraction: fraction of rows for the test split, in [0, 1).
        seed: random seed; the same seed gives the same split.

    Raises:
        CaviarError: bad fractions, too few rows, or ``y`` of the wrong length.
    """
    n_train, n_val, n_test = split_sizes(n, val_fraction, test_fraction)
    n_classes = 0
    if task == "classification" and y is not None:
        n_classes = len(pd.unique(np.asarray(y, dtype=object)))
    if n_val < MIN_VAL_ROWS or n_val < n_classes:
        warnings.warn(
            f"the validation split has only {n_val} row{'' if n_val == 1 else 's'} "
            f"(val_fraction {val_fraction} of {n} rows): validation scores, early stopping "
            "and the choice of the best model rest on it; raise val_fraction",
            CaviarWarning,
            stacklevel=2,
        )
    if y is not None and len(y) != n:
        raise CaviarError(f"split of {n} rows got a target with {len(y)} values")
    if task == "classification" and 0 < n_train < n_classes:
        raise CaviarError(
            f"val_fraction {val_fraction} + test_fraction {test_fraction} of {n} rows leave "
            f"{n_train} training row{'' if n_train == 1 else 's'} for {n_classes} classes: "
            "every class needs a training row; lower the fractions"
        )
    strata: np.ndarray | None = None
    if task == "classification":
        if y is None:
            raise CaviarError("a stratified (classification) split needs the target labels")
        strata, _ = pd.factorize(pd.Series(np.asarray(y, dtype=object)))
    everything = np.arange(n, dtype=np.int64)
    try:
        parts = _two_stage(everything, strata, n_val, n_test, seed)
    except ValueError as exc:
        if strata is None:
            raise
        counts = np.bincount(strata)
        rarest = int(np.argmin(counts))
        rare = np.asarray(y, dtype=object)[np.flatnonzero(strata == rarest)[0]]
        warnings.warn(
            f"cannot stratify the split: the rarest class {rare!r} has "
            f"{int(counts.min())} row{'' if counts.min() == 1 else 's'} ({exc}); "
            "using an unstratified split",
            CaviarWarning,
            stacklevel=2,
        )
        parts = _two_stage(everything, None, n_val, n_test, seed)
    return tuple(np.sort(p).astype(np.int64) for p in parts)  # type: ignore[return-value]


def _two_stage(
    idx: np.ndarray, strata: np.ndarray | None, n_val: int, n_test: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Take ``n_test`` rows, then ``n_val`` of the rest; the remainder is training."""
    if n_test > 0:
        rest, test = train_test_split(idx, test_size=n_test, random_state=seed, stratify=strata)
    else:
        rest, test = idx, idx[:0]
    rest_strata = None if strata is None else strata[rest]
    train, val = train_test_split(rest, test_size=n_val, random_state=seed, stratify=rest_strata)
    return np.asarray(train), np.asarray(val), np.asarray(test)
