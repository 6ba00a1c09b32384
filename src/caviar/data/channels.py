"""Inputs of any shape: examples ``(C, L)`` signals or ``(C, H, W)`` images, stored flat.

The data pipeline keeps every split as flat rows ``(n, F)`` with ``F = prod(shape)`` (so
splitting, fingerprints, storage and the preprocessing's JSON are those of a table) and
records one example's ``input_shape``; models view a batch as ``(B, *input_shape)``
(:class:`caviar.nn.module.PopulationModule`).

Standardization of such inputs is **per channel** (:ref:`bg-normalization`,
``x <- (x − μ_c) / σ_c``), fitted on the training rows: ``μ_c`` and ``σ_c`` pool every
position of channel ``c`` (the first axis of ``input_shape``), as image and signal
pipelines do, instead of one statistic per pixel (a constant border pixel would
otherwise be divided by 1 while its neighbours are divided by their spread). The pooled
values are written into the fitted preprocessor's numeric columns, so transforming new
data and saving the model need nothing new.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from caviar.data.preprocess import NumericColumn, Preprocessor, fit_numeric
from caviar.errors import CaviarError


def check_shape(shape: tuple[int, ...], n_features: int, source: str) -> tuple[int, ...]:
    """``shape`` if one example of ``n_features`` values has that shape, else one line."""
    shape = tuple(int(s) for s in shape)
    if math.prod(shape) != n_features:
        raise CaviarError(
            f"data.shape {list(shape)} holds {math.prod(shape)} values, but {source} has "
            f"{n_features} features per row"
        )
    return shape


def pool_channel_statistics(
    pre: Preprocessor, X_train: np.ndarray, shape: tuple[int, ...]
) -> Preprocessor:
    """Replace ``pre``'s per-column means/stds by per-channel ones (see the module doc).

    ``X_train``: the raw training rows ``(n, F)``; every column must be numeric.
    """
    if len(shape) < 2:
        return pre
    columns = [c for c in pre.columns if isinstance(c, NumericColumn)]
    if len(columns) < len(pre.columns):
        raise CaviarError("inputs with a shape (data.shape, N-d arrays) must be numeric")
    n, channels = X_train.shape[0], shape[0]
    values = np.asarray(X_train, dtype=np.float64).reshape(n, channels, -1)
    per = values.shape[2]
    for c in range(channels):
        pooled = fit_numeric(f"channel {c}", values[:, c, :].reshape(-1))
        for j in range(c * per, (c + 1) * per):
            columns[j] = replace(columns[j], mean=pooled.mean, std=pooled.std)
    pre.columns = list(columns)
    return pre


def image_shape_of(shape: tuple[int, ...] | None) -> tuple[int, int] | None:
    """``(H, W)`` for one-channel images ``(1, H, W)`` or ``(H, W)`` (image augmentation)."""
    if shape is None:
        return None
    if len(shape) == 3 and shape[0] == 1:
        return (shape[1], shape[2])
    return None
