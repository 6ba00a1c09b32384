"""Sample weights from a column of the data (``data.weight = "col"``).

The column is taken out of the features before preprocessing (it is no input of the
model), checked (numbers, finite, ``>= 0``, not all zero) and split with the rows it
belongs to: ``w_train``, ``w_val``, ``w_test`` of :class:`~caviar.data.PreparedData`.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from caviar.errors import CaviarError


def pop_weight_column(raw, column: str):
    """``(raw without the column, weights (n,) float64)``; a one-line error if unusable."""
    if column not in raw.X.columns:
        names = ", ".join(map(str, raw.X.columns[:20]))
        raise CaviarError(f"data.weight: no column '{column}' in {raw.name} (columns: {names})")
    values = pd.to_numeric(raw.X[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise CaviarError(
            f"data.weight: column '{column}' must hold finite numbers >= 0 "
            f"(row {row}: {raw.X[column].iloc[row]!r})"
        )
    if not (values > 0).any():
        raise CaviarError(f"data.weight: column '{column}' is zero everywhere")
    return dataclasses.replace(raw, X=raw.X.drop(columns=[column])), values


def train_val_weights(data) -> np.ndarray | None:
    """The sample weights of the training rows followed by the validation rows."""
    if data.w_train is None:
        return None
    return np.concatenate([data.w_train, data.w_val])


def attach_weights(data, weights: np.ndarray):
    """``data`` with the weights of its rows per split (from its split indices)."""
    return dataclasses.replace(
        data,
        w_train=weights[data.train_idx],
        w_val=weights[data.val_idx],
        w_test=weights[data.test_idx],
    )
