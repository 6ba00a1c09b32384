"""The fitted preprocessing as two steps: raw values -> numbers and codes, then
numbers and codes -> model input with tensor operations only.

Step 1, :func:`table_codes` (the part a tensor graph cannot do): the fitted input
columns are read from a frame, numeric ones as ``numbers`` ``(n, N)`` float64 (NaN
where missing), categorical ones as integer ``codes`` ``(n, C)``: code ``k`` is the
``k``-th kept level, ``len(levels)`` the ``other`` slot, and an unseen level takes
the column's ``unknown_code`` (the ``other`` slot, or ``width``: all zeros).

Step 2, :func:`model_input` on the arrays of :func:`fitted_arrays`, for each input
column in order::

    numeric i:      m = isnan(x_i);  x = where(m, fill_i, x_i);  z = (x - mean_i) / std_i
                    -> z, then m as 0/1 if indicator_i
    categorical j:  one_hot(codes_j, width_j + 1)[:, :width_j]

so an exported network can rebuild it from ``fill``, ``mean``, ``std``, ``indicator``
and ``width`` alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from caviar.data.columns import CategoricalColumn, NumericColumn
from caviar.data.table_fit import level_values, numeric_values


@dataclass
class TableCodes:
    """Step 1's output: ``numbers`` ``(n, N)`` float64 with NaN, ``codes`` ``(n, C)``
    int64, and per column the count of missing numbers and of unseen levels."""

    numbers: np.ndarray
    codes: np.ndarray
    missing: dict[str, int] = field(default_factory=dict)
    unknown: dict[str, int] = field(default_factory=dict)
    unknown_examples: dict[str, object] = field(default_factory=dict)


def category_codes(spec: CategoricalColumn, col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(codes (n,) int64, unseen (n,) bool)`` of one categorical column."""
    values = level_values(col)
    missing = pd.isna(pd.Series(values)).to_numpy()
    known = [v for v in spec.categories if v is not None]
    position = np.array([spec.categories.index(v) for v in known], dtype=np.int64)
    found = pd.Index(known, dtype=object).get_indexer(pd.Index(values, dtype=object))
    codes = np.full(len(values), spec.unknown_code, dtype=np.int64)
    hit = (found >= 0) & ~missing
    codes[hit] = position[found[hit]]
    if None in spec.categories:
        codes[missing] = spec.categories.index(None)
    pooled = np.zeros(len(values), dtype=bool)
    if spec.pooled:
        other = [v for v in spec.pooled if v is not None]
        in_other = pd.Index(other, dtype=object).get_indexer(pd.Index(values, dtype=object))
        pooled = ((in_other >= 0) & ~missing) | (missing & (None in spec.pooled))
        codes[pooled] = len(spec.categories)
    unseen = ~(hit | pooled | (missing & (None in spec.categories)))
    return codes, unseen


def table_codes(columns: list[NumericColumn | CategoricalColumn], X: pd.DataFrame) -> TableCodes:
    """Step 1 on a frame holding (at least) the fitted input columns."""
    n = len(X)
    numeric = [c for c in columns if isinstance(c, NumericColumn)]
    categorical = [c for c in columns if isinstance(c, CategoricalColumn)]
    out = TableCodes(np.empty((n, len(numeric))), np.empty((n, len(categorical)), np.int64))
    for i, spec in enumerate(numeric):
        out.numbers[:, i] = numeric_values(X[spec.name], spec.name)
        gaps = int(np.isnan(out.numbers[:, i]).sum())
        if gaps:
            out.missing[spec.name] = gaps
    for j, category in enumerate(categorical):
        codes, unseen = category_codes(category, X[category.name])
        out.codes[:, j] = codes
        if unseen.any():
            out.unknown[category.name] = int(unseen.sum())
            out.unknown_examples[category.name] = X[category.name].to_numpy(dtype=object)[unseen][0]
    return out


def fitted_arrays(columns: list[NumericColumn | CategoricalColumn]) -> dict[str, np.ndarray]:
    """Step 2's parameters: ``fill``, ``mean``, ``std`` ``(N,)`` float64, ``indicator``
    ``(N,)`` bool, ``width`` ``(C,)`` int64, and ``order`` ``(N + C,)``: for each input
    column, its index among the numeric (``>= 0``) or categorical (``-1 - j``) ones."""
    numeric = [c for c in columns if isinstance(c, NumericColumn)]
    categorical = [c for c in columns if isinstance(c, CategoricalColumn)]
    order, i, j = [], 0, 0
    for c in columns:
        if isinstance(c, NumericColumn):
            order.append(i)
            i += 1
        else:
            order.append(-1 - j)
            j += 1
    return {
        "fill": np.array([c.fill_value for c in numeric], dtype=np.float64),
        "mean": np.array([c.mean for c in numeric], dtype=np.float64),
        "std": np.array([c.std for c in numeric], dtype=np.float64),
        "indicator": np.array([c.indicator for c in numeric], dtype=bool),
        "width": np.array([c.width for c in categorical], dtype=np.int64),
        "order": np.array(order, dtype=np.int64),
    }


def model_input(
    arrays: dict[str, np.ndarray], numbers: np.ndarray, codes: np.ndarray
) -> np.ndarray:
    """Step 2: the model input ``(n, F)`` float64 (module formula)."""
    missing = np.isnan(numbers)
    z = (np.where(missing, arrays["fill"], numbers) - arrays["mean"]) / arrays["std"]
    parts: list[np.ndarray] = []
    for k in arrays["order"]:
        if k >= 0:
            parts.append(z[:, k : k + 1])
            if arrays["indicator"][k]:
                parts.append(missing[:, k : k + 1].astype(np.float64))
        else:
            j = -1 - int(k)
            width = int(arrays["width"][j])
            block = np.zeros((len(codes), width))  # one_hot(codes, width + 1)[:, :width]
            rows = np.flatnonzero(codes[:, j] < width)
            block[rows, codes[rows, j]] = 1.0
            parts.append(block)
    if not parts:
        return np.zeros((len(numbers), 0))
    return np.concatenate(parts, axis=1)
