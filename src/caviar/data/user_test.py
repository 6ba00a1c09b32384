"""A test set of the user's own, in place of the random test split.

Benchmarks come with their own test split: ``data.test = "test.csv"`` (the same
columns as the source; ``.parquet``/``.npz`` likewise) is mapped by the preprocessor
fitted on the training rows and scores the final model once; the source is then
split into training and validation rows only. An ``.npz`` source that holds arrays
``X_test``/``y_test`` beside ``X``/``y`` uses them the same way (:ref:`bg-validation`:
the test set stays untouched until the end).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from caviar.data.sources import RawData, load_source, raw_from_arrays
from caviar.errors import CaviarError


def npz_test(source: str) -> RawData | None:
    """``X_test``/``y_test`` of an ``.npz`` source as raw data, or None without them."""
    path = Path(source)
    if path.suffix.lower() != ".npz" or not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as archive:
        keys = set(archive.files)
        if not {"X_test", "y_test"} & keys:
            return None
        if not {"X_test", "y_test"} <= keys:
            raise CaviarError(f"{source}: has one of X_test/y_test but not both")
        return raw_from_arrays(
            archive["X_test"], archive["y_test"], name=f"{path.name}:test", target_name="y"
        )


def load_test(test: str, target: str | None) -> RawData:
    """The file named by ``data.test`` (same target column as the source)."""
    raw = load_source(test, target=target)
    if len(raw.y) == 0:
        raise CaviarError(f"data.test {test}: no rows")
    return raw


def with_test(data, raw: RawData, weights: np.ndarray | None = None):
    """``data`` with ``raw`` as its test split, mapped by ``data.preprocessor``."""
    pre = data.preprocessor
    try:
        X_test, y_test = pre.transform(raw.X), pre.encode_labels(raw.y)
    except CaviarError as e:
        raise CaviarError(f"test set {raw.name}: {e}") from None
    return dataclasses.replace(data, X_test=X_test, y_test=y_test, test_idx=None, w_test=weights)
