"""The preprocessing of a cross-validation fold, fitted on that fold's training rows only.

The preprocessor of a :class:`~caviar.data.PreparedData` is fitted on the training split;
under ``train.cv``/``search.cv`` the validation rows of a fold come from that split, so
its statistics would have seen them. Each fold therefore refits, on the raw features
of its own training rows (``data.raw_train_val``), the statistics of every numeric
column (:mod:`caviar.data.table_fit`):

* the fill value of ``data.impute`` (median, mean, most frequent or the constant) of the
  observed values, for a column that has gaps in the training split or in the fold's
  training rows (otherwise a gap takes the mean, as for the training split);
* ``mu`` and ``sigma`` (population standard deviation) of the filled column, so the fold's
  inputs are ``x <- (x - mu_f) / sigma_f`` (inputs with a shape: per channel,
  :mod:`caviar.data.channels`).

The layout of the inputs is the training split's (the same columns, missing indicators
and kept levels of each categorical column, so that the folds of a configuration share one
network): the levels and pooling of categorical columns stay those of the training
split. The fold's preprocessor then transforms all ``N`` rows of train+validation:
its training rows and its held-out rows alike, as new data would be.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings

import numpy as np

from caviar.data.channels import pool_channel_statistics
from caviar.data.columns import NumericColumn, fit_numeric
from caviar.data.preprocess import Preprocessor
from caviar.data.table_fit import fill_of, numeric_values
from caviar.errors import CaviarError, CaviarWarning


def fold_preprocessor(data, rows: np.ndarray) -> Preprocessor | None:
    """``data``'s preprocessor with its numeric statistics refitted on the rows ``rows``
    of train+validation (module docstring); None without a preprocessor or raw rows."""
    pre, raw = data.preprocessor, data.raw_train_val
    if pre is None or raw is None:
        return None
    frame = raw.iloc[np.asarray(rows)]
    fold = copy.copy(pre)
    fold.columns = [
        _refit(c, frame[c.name], pre) if isinstance(c, NumericColumn) else c for c in pre.columns
    ]
    shape = data.input_shape
    if shape is not None and len(shape) >= 2:
        pool_channel_statistics(fold, frame[pre.input_columns].to_numpy(), tuple(shape))
    return fold


def _refit(column: NumericColumn, values, pre: Preprocessor) -> NumericColumn:
    """``column`` with its fill value, mean and std fitted on ``values`` (its layout kept)."""
    x = numeric_values(values, column.name)
    gaps = np.isnan(x)
    fill = None
    if column.fill is not None or gaps.any():
        if gaps.all() and pre.options.impute != "constant":
            raise CaviarError(
                f"feature '{column.name}' has no value in the training rows of a "
                "cross-validation fold; drop the column or use fewer folds"
            )
        fill = fill_of(x[~gaps], pre.options)
        x = np.where(gaps, fill, x)
    stats = fit_numeric(column.name, x)
    return dataclasses.replace(column, mean=stats.mean, std=stats.std, fill=fill)


def fold_inputs(data, rows: np.ndarray) -> np.ndarray:
    """The ``N`` rows of train+validation ``(N, F)`` as the fold training on ``rows`` sees
    them: transformed by :func:`fold_preprocessor`, or ``data``'s arrays as they are when
    there is nothing to refit (arrays given as they are, e.g. the estimators')."""
    fold = fold_preprocessor(data, rows)
    if fold is None:
        return data.train_val()[0]
    with warnings.catch_warnings():  # unseen categories were counted when data was prepared
        warnings.simplefilter("ignore", CaviarWarning)
        return fold.transform(data.raw_train_val)
