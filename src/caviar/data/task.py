"""Decide whether a target calls for classification or regression.

Rule for ``task="auto"`` (the caller can always force ``"classification"`` or
``"regression"``):

* a target whose dtype is not numeric (strings, objects), boolean or
  categorical is a **classification** target;
* a numeric target is **classification** when all of these hold:
  every value is a whole number (``3`` or ``3.0``), it has at most
  :data:`MAX_AUTO_CLASSES` (20) distinct values, and either it has at most two
  distinct values or there are at least :data:`MIN_ROWS_PER_CLASS` (5) rows per
  distinct value on average (``n_rows >= 5 * n_distinct``);
* anything else is **regression**.

So iris/wine/digits/breast_cancer (integer codes, many rows per code) are
classification and diabetes (hundreds of distinct whole numbers) is regression;
a small integer-valued table with many distinct values is treated as a quantity.

Checks, each a one-line :class:`~caviar.errors.CaviarError` naming the target:
missing values (NaN) in the target; a classification target with fewer than
two classes, with many distinct fractional numbers (a quantity, not labels) or
with a different value in every row; a regression target that is not numeric (bool and categorical
count as not numeric) or has infinite values.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from caviar.errors import CaviarError

Task = Literal["classification", "regression"]
TASK_CHOICES: tuple[str, ...] = ("auto", "classification", "regression")
MAX_AUTO_CLASSES = 20
MIN_ROWS_PER_CLASS = 5


def as_target_series(y: Any) -> pd.Series:
    """View a target (Series, array, list) as a Series named ``y`` unless already named."""
    if isinstance(y, pd.Series):
        return y if y.name is not None else y.rename("y")
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise CaviarError(f"target must have shape (rows,); got {arr.shape}")
    return pd.Series(arr, name="y")


def is_numeric_target(y: pd.Series) -> bool:
    """True for real-valued (int/float) dtypes; False for bool, categorical, complex, text."""
    return is_numeric_dtype_(y.dtype)


def is_numeric_dtype_(dtype: Any) -> bool:
    """:func:`is_numeric_target` on a dtype (for whole-frame checks)."""
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return False
    return pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _auto(y: pd.Series) -> Task:
    """Apply the documented auto-detection rule to a target without missing values."""
    if not is_numeric_target(y):
        return "classification"
    values = y.to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)) or not np.all(values == np.round(values)):
        return "regression"
    n_distinct = int(np.unique(values).size)
    enough_rows = n_distinct <= 2 or len(values) >= MIN_ROWS_PER_CLASS * n_distinct
    if n_distinct <= MAX_AUTO_CLASSES and enough_rows:
        return "classification"
    return "regression"


def detect_task(y: Any, task: str = "auto") -> Task:
    """Return ``"classification"`` or ``"regression"`` for target ``y``.

    Args:
        y: the target (Series, array or list); a Series' name is used in messages.
        task: ``"auto"`` applies the module's rule; ``"classification"`` or
            ``"regression"`` force the task (and are still validated).

    Raises:
        CaviarError: unknown ``task``; empty target; missing values; a
            classification target with one class; a non-numeric or infinite
            regression target.
    """
    if task not in TASK_CHOICES:
        raise CaviarError(f"unknown task '{task}': expected one of {', '.join(TASK_CHOICES)}")
    s = as_target_series(y)
    name = s.name
    if len(s) == 0:
        raise CaviarError(f"target '{name}' has no values")
    n_missing = int(s.isna().sum())
    if n_missing:
        raise CaviarError(
            f"target '{name}' has {_plural(n_missing, 'missing value')} (NaN); "
            "drop those rows first"
        )
    resolved: Task = _auto(s) if task == "auto" else task  # type: ignore[assignment]
    if resolved == "regression":
        if not is_numeric_target(s):
            raise CaviarError(
                f"target '{name}' is not numeric (dtype {s.dtype}); regression needs numbers, "
                "use task='classification'"
            )
        n_inf = int(np.isinf(s.to_numpy(dtype=np.float64)).sum())
        if n_inf:
            raise CaviarError(f"target '{name}' has {_plural(n_inf, 'infinite value')}")
    else:
        distinct = pd.unique(s.to_numpy(dtype=object))
        if len(distinct) < 2:
            raise CaviarError(
                f"target '{name}' has only one class ({distinct[0]!r} in all {len(s)} rows); "
                "classification needs at least 2"
            )
        _check_class_labels(s, name, len(distinct))
    return resolved


def _check_class_labels(s: pd.Series, name: Any, n_classes: int) -> None:
    """A classification target must look like class labels: a numeric one whose values
    are not whole numbers, with more than :data:`MAX_AUTO_CLASSES` distinct values or
    fewer than :data:`MIN_ROWS_PER_CLASS` rows per value on average, is a quantity;
    and a target with one row per class has no class to learn."""
    if is_numeric_target(s) and not pd.api.types.is_bool_dtype(s.dtype):
        values = s.to_numpy(dtype=np.float64)
        fractional = int((np.isfinite(values) & (values != np.round(values))).sum())
        few_rows = len(s) < MIN_ROWS_PER_CLASS * n_classes
        if fractional and (n_classes > MAX_AUTO_CLASSES or few_rows):
            raise CaviarError(
                f"target '{name}' is continuous ({fractional} of {len(s)} values are not whole "
                'numbers): classification needs class labels; use task = "regression"'
            )
    if n_classes == len(s) and len(s) > 2:
        raise CaviarError(
            f"target '{name}' has a different value in each of its {len(s)} rows: no class "
            "has two rows to learn from; is it an identifier or a quantity (task = "
            '"regression")?'
        )
