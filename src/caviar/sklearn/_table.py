"""Tables into the estimators: a DataFrame is prepared exactly as ``caviar train``
prepares a table; arrays are used as given.

``preprocess="auto"`` (the default) sends a :class:`pandas.DataFrame` that has a text,
category or bool column or a missing value (what an array cannot hold) through a
:class:`~caviar.data.Preprocessor` (missing values imputed with indicators, numeric
columns standardized, string/category/bool columns one-hot with rare levels pooled and
unseen levels counted; :mod:`caviar.data.preprocess`) fitted on the training rows of
the fit only (not the ``early_stopping`` validation rows), and uses arrays and complete
numeric frames as given (so a frame and its ``to_numpy()`` fit alike);
``True`` also prepares arrays (their columns named ``x0``, ``x1``, ...); ``False``
never does (bring your own ``ColumnTransformer``). ``table_options`` (a dict of the
``[data]`` keys ``impute``, ``fill_value``, ``missing_indicator``, ``categorical``,
``max_onehot``, ``min_frequency``, ``unknown``, or a
:class:`~caviar.data.TableOptions`) tunes the preparation.

Regression targets are standardized by default (``standardize_target=True``):
``y <- (y - mean_w) / std_w`` per output with the training rows' ``sample_weight``-
weighted mean and standard deviation, predictions mapped back with
``y = out * std + mean``. Images: an ``X`` of shape ``(n, C, L)`` or ``(n, C, H, W)``
trains on flat rows with ``input_shape`` read from it (unless given).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from caviar.data import Preprocessor, TableOptions
from caviar.data.task import is_numeric_dtype_
from caviar.errors import CaviarError

PREPROCESS_CHOICES = ("auto", True, False)


def uses_table(preprocess: Any, X: Any, who: str) -> bool:
    """Whether ``X`` goes through the table preparation (module rule)."""
    if preprocess is True or preprocess is False:
        return preprocess
    if isinstance(preprocess, str) and preprocess == "auto":
        return isinstance(X, pd.DataFrame) and needs_table(X)
    raise CaviarError(f"{who}: preprocess must be 'auto', True or False; got {preprocess!r}")


def needs_table(X: pd.DataFrame) -> bool:
    """A DataFrame with a column that is not a number (text, category, bool) or with a
    missing value; a complete numeric frame is used as an array."""
    if any(not is_numeric_dtype_(dtype) for dtype in X.dtypes):
        return True
    return bool(X.isna().to_numpy().any())


def table_options(value: Any, who: str) -> TableOptions:
    """``table_options`` as :class:`~caviar.data.TableOptions` (target kept raw here:
    the estimators standardize the target themselves)."""
    if value is None:
        return TableOptions()
    if isinstance(value, TableOptions):
        return value
    if not isinstance(value, dict):
        raise CaviarError(f"{who}: table_options must be a dict or TableOptions; got {value!r}")
    allowed = set(TableOptions.__dataclass_fields__) - {"standardize_target"}
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise CaviarError(
            f"{who}: table_options has no key {unknown[0]!r} (keys: {', '.join(sorted(allowed))})"
        )
    try:
        return TableOptions(**value)
    except TypeError as e:
        raise CaviarError(f"{who}: table_options: {e}") from None


def as_frame(X: Any) -> pd.DataFrame:
    """``X`` as a DataFrame with string column names (arrays: ``x0``, ``x1``, ...)."""
    if isinstance(X, pd.DataFrame):
        frame = X.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        return frame
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise CaviarError(f"expected 2-D X (rows, features); got shape {arr.shape}")
    return pd.DataFrame(arr, columns=[f"x{i}" for i in range(arr.shape[1])]).infer_objects()


def fit_table(X: pd.DataFrame, train_idx: np.ndarray, options: TableOptions) -> Preprocessor:
    """A preprocessor fitted on the training rows ``train_idx`` of ``X`` (features only)."""
    return Preprocessor("regression", options=options).fit_features(X.iloc[train_idx])


def target_scale(
    y: np.ndarray, train_idx: np.ndarray, sample_weight: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted mean and standard deviation ``(K,)`` of the training targets (std 1 for a
    constant output)."""
    Y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)[train_idx]
    w = np.ones(len(Y)) if sample_weight is None else np.asarray(sample_weight)[train_idx]
    total = w.sum()
    if not total > 0:
        return np.zeros(Y.shape[1]), np.ones(Y.shape[1])
    mean = (w[:, None] * Y).sum(axis=0) / total
    std = np.sqrt((w[:, None] * (Y - mean) ** 2).sum(axis=0) / total)
    return mean, np.where(std > 0, std, 1.0)


def flatten_images(X: Any) -> tuple[Any, tuple[int, ...] | None]:
    """An array ``(n, C, L)`` / ``(n, C, H, W)`` as flat rows and one example's shape;
    anything else unchanged (shape None)."""
    if isinstance(X, pd.DataFrame) or not hasattr(X, "ndim") or X.ndim not in (3, 4):
        return X, None
    arr = np.asarray(X)
    return arr.reshape(arr.shape[0], -1), tuple(int(s) for s in arr.shape[1:])
