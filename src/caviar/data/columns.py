"""The input columns a preprocessor fits: numeric (imputed, standardized) and
categorical (one-hot of kept levels), the dtype rule between them and the label
helpers (see :mod:`caviar.data.preprocess` for the encoding)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from caviar.errors import CaviarError

_LABEL_TYPES = (bool, int, float, str)


@dataclass(frozen=True)
class NumericColumn:
    """A real-valued input: ``x <- fill`` where missing, then ``(x - mean) / std``.

    ``fill`` is None for a column that had no missing training value (a gap at
    prediction then takes ``mean``, which standardizes to 0); ``indicator`` adds a
    0/1 ``<name>:missing`` feature right after the column.
    """

    name: str
    mean: float
    std: float
    fill: float | None = None
    indicator: bool = False

    @property
    def fill_value(self) -> float:
        """The value a missing entry takes before standardization."""
        return self.mean if self.fill is None else self.fill


@dataclass(frozen=True)
class CategoricalColumn:
    """A categorical input one-hot encoded over its kept levels ``categories``.

    ``categories``: the kept levels in code order (a missing value, NaN/None, is the
    level ``None``); ``other``: one more indicator shared by the ``pooled`` training
    levels (rarer than ``min_frequency`` or beyond ``max_onehot``) and by levels never
    seen in training; without it an unseen level encodes as all zeros.
    """

    name: str
    categories: tuple[Any, ...]
    other: bool = False
    pooled: tuple[Any, ...] = ()

    @property
    def width(self) -> int:
        """Number of indicator features: kept levels, plus one for ``other``."""
        return len(self.categories) + int(self.other)

    @property
    def unknown_code(self) -> int:
        """The code of an unseen level: the ``other`` slot, else ``width`` (all zeros)."""
        return len(self.categories) if self.other else self.width


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def native_scalar(value: Any) -> Any:
    """Numpy scalar -> the equivalent Python scalar; anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def label_sort_key(value: Any) -> tuple[int, Any]:
    """Order mixed labels: bools, then numbers, then strings, then missing (None)."""
    if value is None:
        return (3, "")
    if isinstance(value, bool):
        return (0, value)
    if isinstance(value, (int, float)):
        return (1, value)
    return (2, str(value))


def distinct_sorted(values: Iterable[Any], what: str) -> list[Any]:
    """Distinct native values, sorted by :func:`label_sort_key`; only bool/int/float/str allowed."""
    out = []
    for v in pd.unique(np.asarray(list(values), dtype=object)):
        v = native_scalar(v)
        if not isinstance(v, _LABEL_TYPES):
            raise CaviarError(
                f"{what} has values of unsupported type {type(v).__name__}; "
                "use numbers, strings or booleans"
            )
        out.append(v)
    return sorted(out, key=label_sort_key)


def object_values(col: pd.Series) -> np.ndarray:
    """A column's values as a numpy object array (category dtype -> its values)."""
    return col.astype(object).to_numpy(dtype=object)


def feature_kind(col: pd.Series) -> str:
    """``"numeric"`` or ``"categorical"`` for a feature column (see the module rule).

    Raises:
        CaviarError: dtypes that are neither (datetime, timedelta, complex, ...).
    """
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        return "numeric"
    if pd.api.types.is_string_dtype(dtype) or pd.api.types.is_object_dtype(dtype):
        return "categorical"
    raise CaviarError(
        f"feature '{col.name}' has unsupported dtype {dtype}; convert it to numbers or strings"
    )


def fit_numeric(name: str, values: np.ndarray) -> NumericColumn:
    """Mean and population std of a column without missing values.

    A constant column gets ``mean`` = its value and ``std = 1`` (maps to 0). Both
    statistics are computed on ``values / max|values|`` and scaled back, so neither
    tiny (underflowing) nor huge (overflowing) magnitudes break them; a spread too
    large for float64 (values near 1e308 of both signs) is a one-line error.
    """
    if values.size == 0:
        raise CaviarError(f"feature '{name}' has no value in the training rows")
    lo, hi = values.min(), values.max()
    if lo == hi:
        return NumericColumn(name, float(lo), 1.0)
    scale = float(np.abs(values).max())
    unit = values / scale
    mean = float(unit.mean()) * scale
    std = float(unit.std()) * scale
    with np.errstate(over="ignore"):
        spread = float(hi) - float(lo)
    if not (np.isfinite(mean) and np.isfinite(std) and np.isfinite(spread)):
        raise CaviarError(
            f"feature '{name}' has values too large to standardize (from {lo:.3g} to "
            f"{hi:.3g}: their mean or spread overflows float64); rescale the column"
        )
    return NumericColumn(name, mean, std if std > 0.0 else 1.0)


def label_dtype_of(s: pd.Series) -> str:
    """Numpy dtype name that restores the labels' type on decode (``object`` for text)."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        dtype = dtype.categories.dtype
    if not isinstance(dtype, np.dtype):
        dtype = getattr(dtype, "numpy_dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        return dtype.name
    return "object"
