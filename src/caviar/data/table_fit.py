"""Fitting one input column on the training rows: its kind, its fill value and
statistics (numeric) or its kept levels (categorical).

* **kind**: a column named in ``data.categorical``, or of object/string/category/bool
  dtype, is categorical; an int/float column is numeric. A text column whose values are
  mostly numbers but not all (a stray string in a numeric column of a file) is an error
  naming the column and the first such row, unless the column is declared categorical.
  A column of lists, arrays or dicts (a Parquet list column) is a one-line error.
* **numeric**: missing values are filled by ``data.impute`` fitted on the observed
  training values (median, mean, the most frequent value, smallest first among ties, or
  ``data.fill_value``); ``mean``/``std`` are then those of the filled training column
  (as ``SimpleImputer`` then ``StandardScaler`` would give). A column with gaps gets a
  missing indicator when ``data.missing_indicator`` is on.
* **categorical**: missing values (NaN/None) are a level of their own (``None``). The
  levels seen at least ``data.min_frequency`` times are kept, at most
  ``data.max_onehot`` of them (the most frequent; ties in level order), in level order
  (bools, numbers, strings, missing last); the other training levels are pooled into
  one ``other`` indicator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from caviar.data.columns import (
    CategoricalColumn,
    NumericColumn,
    distinct_sorted,
    feature_kind,
    fit_numeric,
    label_sort_key,
    native_scalar,
    object_values,
)
from caviar.data.options import TableOptions
from caviar.errors import CaviarError

#: an object column is numeric-looking when at least this share of its values are numbers
NUMERIC_SHARE = 0.5


def _is_nested(value: Any) -> bool:
    return isinstance(value, (list, tuple, dict, set, np.ndarray))


def column_kind(col: pd.Series, options: TableOptions) -> str:
    """``"numeric"`` or ``"categorical"`` for a training column (module rule)."""
    name = str(col.name)
    if name in options.categorical:
        return "categorical"
    kind = feature_kind(col)
    text_dtype = pd.api.types.is_object_dtype(col.dtype) or pd.api.types.is_string_dtype(col.dtype)
    if kind == "numeric" or isinstance(col.dtype, pd.CategoricalDtype) or not text_dtype:
        return kind
    values = col.to_numpy(dtype=object)
    present = values[~pd.isna(pd.Series(values)).to_numpy()]
    nested = [i for i, v in enumerate(values) if _is_nested(v)]
    if nested:
        raise CaviarError(
            f"feature '{name}' holds lists or arrays (row {nested[0] + 1}: a "
            f"{type(values[nested[0]]).__name__}); a column must hold one number or one "
            "category per row: expand or drop it"
        )
    if present.size == 0:
        return "categorical"
    text = pd.Series([v for v in present if isinstance(v, str)], dtype=object)
    parsed = pd.to_numeric(text, errors="coerce").notna().to_numpy()
    if text.size and parsed.mean() >= NUMERIC_SHARE and not parsed.all():
        first_text(col, name)  # numbers read as text from a file, and a stray string
    return "categorical"


def first_text(col: pd.Series, name: str, known_numeric: bool = False) -> None:
    """A one-line error at the first value of ``col`` that is not a number (if any)."""
    values = col.to_numpy(dtype=object)
    coerced = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy()
    bad = np.flatnonzero(np.isnan(coerced.astype(np.float64)) & ~pd.isna(pd.Series(values)))
    if bad.size == 0:
        return
    row = int(bad[0])
    label = col.index[row]  # the row of the loaded table (its index survives the split)
    number = int(label) + 1 if isinstance(label, (int, np.integer)) else row + 1
    where = f"text {values[row]!r} in row {number} of the data (header not counted)"
    count = f"{bad.size} such value{'s' if bad.size > 1 else ''}"
    if known_numeric:
        raise CaviarError(
            f"feature '{name}' must be numeric (as when fitting); got {where}, {count}"
        )
    raise CaviarError(
        f"feature '{name}' has {where} but its other values are numbers: fix the value, or "
        f"list '{name}' in data.categorical to encode it as categories ({count})"
    )


def numeric_values(col: pd.Series, name: str) -> np.ndarray:
    """A numeric column as float64 with NaN for missing values; text is an error."""
    if pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype):
        return pd.to_numeric(col).to_numpy(dtype=np.float64, na_value=np.nan)
    first_text(col, name, known_numeric=True)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def fill_of(observed: np.ndarray, options: TableOptions) -> float:
    """The fill value of ``options.impute`` fitted on the observed values."""
    how = options.impute
    if how == "constant":
        return float(options.fill_value)
    if how == "mean":
        return float(fit_numeric("fill", observed).mean)
    if how == "most_frequent":
        levels, counts = np.unique(observed, return_counts=True)
        return float(levels[int(np.argmax(counts))])
    return float(np.median(observed))


def fit_numeric_column(name: str, values: np.ndarray, options: TableOptions) -> NumericColumn:
    """A numeric column fitted on its training values (NaN for missing)."""
    missing = np.isnan(values)
    if not missing.any():
        return fit_numeric(name, values)
    observed = values[~missing]
    if observed.size == 0 and options.impute != "constant":
        raise CaviarError(
            f"feature '{name}' has no value in the training rows (all {values.size} are "
            'missing); drop the column or use data.impute = "constant"'
        )
    fill = fill_of(observed, options)
    stats = fit_numeric(name, np.where(missing, fill, values))
    return NumericColumn(name, stats.mean, stats.std, fill, bool(options.missing_indicator))


def level_values(col: pd.Series) -> np.ndarray:
    """A categorical column's values as native objects, missing ones as ``None``."""
    values = np.array(object_values(col), dtype=object)  # a copy (pandas may share it)
    values[pd.isna(pd.Series(values, dtype=object)).to_numpy()] = None
    return values


def fit_categorical_column(name: str, col: pd.Series, options: TableOptions) -> CategoricalColumn:
    """Kept levels, and the pooled ones, of a categorical training column."""
    counts = pd.Series(level_values(col), dtype=object).value_counts(dropna=False)
    count = {native_scalar(k) if not pd.isna(k) else None: int(v) for k, v in counts.items()}
    levels = distinct_sorted([k for k in count if k is not None], f"feature '{name}'")
    if None in count:
        levels.append(None)
    by_count = sorted(levels, key=lambda v: (-count.get(v, 0), label_sort_key(v)))
    frequent = [v for v in by_count if count.get(v, 0) >= options.min_frequency]
    kept = set(frequent[: int(options.max_onehot)])
    kept_levels = tuple(v for v in levels if v in kept)
    pooled = tuple(v for v in levels if v not in kept)
    if not kept_levels:  # every level rare: one 'other' indicator only
        return CategoricalColumn(name, (), True, pooled)
    return CategoricalColumn(name, kept_levels, bool(pooled), pooled)


def check_column_kinds(X: pd.DataFrame, options: TableOptions) -> None:
    """The kind rule over all rows of a table (so an error names its first bad row)."""
    for name in X.columns:
        column_kind(X[name].rename(str(name)), options)


def fit_column(col: pd.Series, options: TableOptions) -> NumericColumn | CategoricalColumn:
    """One training column fitted by the module's rules."""
    name = str(col.name)
    if column_kind(col, options) == "numeric":
        return fit_numeric_column(name, numeric_values(col, name), options)
    return fit_categorical_column(name, col, options)
