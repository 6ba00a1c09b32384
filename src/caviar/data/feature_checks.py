"""Rejecting missing (NaN/None) and infinite feature values with one line that names
the columns and counts, at fit and at transform time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from caviar.data.sources import list_names
from caviar.data.task import is_numeric_dtype_
from caviar.errors import CaviarError


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _problem_message(counts: dict[str, int], what: str, note: str, advice: str) -> str:
    """``feature 'a' has 3 <what>s<note>; <advice>`` or a list for several columns."""
    items = list(counts.items())
    if len(items) == 1:
        name, k = items[0]
        return f"feature '{name}' has {plural(k, what)}{note}; {advice}"
    listed = list_names([f"'{n}' ({k})" for n, k in items])
    return f"{len(items)} features have {what}s{note}: {listed}; {advice}"


def check_features(X: pd.DataFrame, *, allow_missing: bool = False) -> None:
    """Reject missing (NaN/None; unless ``allow_missing``) or infinite values in ``X``.

    Raises:
        CaviarError: one line naming the offending column(s) and counts, e.g.
            ``feature 'age' has 3 missing values (NaN); fill or drop them first``.
    """
    # whole-frame counts (one pass per check, not one pandas call per column)
    n_na = X.isna().sum(axis=0).to_numpy()
    missing = {str(X.columns[j]): int(n_na[j]) for j in np.flatnonzero(n_na)}
    numeric = [
        j
        for j, dtype in enumerate(X.dtypes)
        if (allow_missing or not n_na[j]) and is_numeric_dtype_(dtype)
    ]
    infinite: dict[str, int] = {}
    if numeric:
        block = X.iloc[:, numeric].to_numpy(dtype=np.float64, na_value=np.nan)
        n_inf = np.isinf(block).sum(axis=0)
        infinite = {str(X.columns[numeric[k]]): int(n_inf[k]) for k in np.flatnonzero(n_inf)}
    if missing and not allow_missing:
        raise CaviarError(
            _problem_message(missing, "missing value", " (NaN)", "fill or drop them first")
        )
    if infinite:
        raise CaviarError(_problem_message(infinite, "infinite value", "", "replace them first"))
