"""The input of an exported model: raw rows encoded as ``features (n, C)``.

Categorical values are strings or labels, and ONNX takes numbers, so the exported graph
(:mod:`caviar.model.export_torch`) takes each categorical column as its category *code*
and :func:`encode_rows` maps raw rows to that numeric input: numeric columns as they
are (NaN where missing), categorical values to codes, a category not seen in training to
a code with no indicator. :func:`probe_rows` draws rows of that input to check a
written file with.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from caviar.data.columns import CategoricalColumn, NumericColumn, object_values
from caviar.model.validate import raw_features


def encode_rows(model: Any, X: pd.DataFrame | np.ndarray, *, dtype: Any = np.float32) -> np.ndarray:
    """Raw rows -> the numeric input ``features (n, C)`` of an exported model.

    Parameters
    ----------
    model
        A :class:`~caviar.model.TrainedModel` (or its fitted preprocessor), or a fitted
        :class:`~caviar.sklearn.CaviarClassifier` / :class:`~caviar.sklearn.CaviarRegressor`
        (its ``to_trained_model()``).
    X
        Raw feature rows: a DataFrame with the training columns (others are ignored) or a
        2-D array of the training columns in order, as
        :meth:`~caviar.model.TrainedModel.predict` takes.
    dtype
        The array's dtype: the exported model's (``float32`` by default).

    Returns
    -------
    numpy.ndarray
        One column per training column, in training order: a numeric column's values as
        they are (NaN where missing; the graph imputes and standardizes them), a
        categorical column's category codes (the position in the categories the export
        metadata lists; a category not seen in training gets the pooled ``other``
        level's code where the model has one, else a code with no indicator, which the
        graph encodes as all zeros).

    Examples
    --------
    >>> session.run(None, {"features": encode_rows(model, frame)})  # doctest: +SKIP
    """
    if hasattr(model, "to_trained_model"):  # a fitted scikit-learn estimator
        model = model.to_trained_model()
    pre = getattr(model, "preprocessor", model)
    raw_features(pre, X)  # the checks and refusals of TrainedModel.predict
    if not isinstance(X, pd.DataFrame):
        X = pd.DataFrame(np.asarray(X), columns=pre.input_columns).infer_objects()
    X = X.rename(columns=str)[pre.input_columns]
    return np.stack(_column_codes(pre.columns, X), axis=1).astype(dtype)


def _column_codes(columns: list, X: pd.DataFrame) -> list[np.ndarray]:
    """Each input column as float64 numbers (NaN where missing) or category codes: by the
    preprocessing's own first step (``caviar.data.encoding.table_codes``) where the
    build has one, else numbers as they are and codes by position in the categories."""
    try:
        from caviar.data.encoding import table_codes
    except ImportError:  # one-hot preprocessing without imputation or pooled levels
        step = None
    else:
        step = table_codes(columns, X)
    if step is not None:
        numbers, codes = iter(step.numbers.T), iter(step.codes.T.astype(np.float64))
        return [next(numbers if isinstance(c, NumericColumn) else codes) for c in columns]
    out = []
    for spec in columns:
        col = X[spec.name]
        if isinstance(spec, NumericColumn):
            out.append(col.to_numpy(dtype=np.float64))
        else:
            known = pd.Index(list(spec.categories), dtype=object)
            out.append(known.get_indexer(pd.Index(object_values(col), dtype=object)))
    return out


def probe_rows(
    preprocessor: Any, n: int, dtype: torch.dtype = torch.float32, *, seed: int = 0
) -> torch.Tensor:
    """``n`` rows of plausible input: numbers drawn around each column's fitted mean and
    spread (the first row's missing, NaN, from the third row on), category codes from
    -1 to the column's width (both: no category)."""
    rng = np.random.default_rng(seed)
    columns = []
    for spec in preprocessor.columns:
        if isinstance(spec, CategoricalColumn):
            width = getattr(spec, "width", len(spec.categories))
            columns.append(rng.integers(-1, width + 1, size=n).astype(np.float64))
        else:
            values = spec.mean + spec.std * rng.standard_normal(n)
            if n >= 3:
                values[0] = np.nan
            columns.append(values)
    return torch.as_tensor(np.stack(columns, axis=1), dtype=dtype)
