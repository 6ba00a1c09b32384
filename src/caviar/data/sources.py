"""Load raw tabular data: a bundled scikit-learn dataset, a file, or in-memory arrays.

The result is a :class:`RawData`: features ``X`` as a :class:`pandas.DataFrame`
with their original dtypes, the target ``y`` as a :class:`pandas.Series` with its
original values, and a name. Nothing is normalized or encoded here; that is the
job of :mod:`caviar.data.preprocess` (:ref:`bg-normalization`),
which must be fitted on the training split only.

Sources:

* a bundled scikit-learn dataset name: ``iris``, ``wine``, ``breast_cancer``,
  ``digits``, ``diabetes`` (shipped with scikit-learn, no download). The target is
  the integer class / numeric value scikit-learn provides, in a column named
  ``target``. ``digits`` has features ``pixel_0`` .. ``pixel_63`` and
  ``image_shape=(8, 8)``; ``diabetes`` uses the raw (unscaled) features.
* ``.csv`` / ``.parquet`` / ``.pq`` files: the target column is named by ``target``
  (required) and every other column is a feature.
* ``.npz`` archives holding arrays ``X`` (rows, features) or (rows, height, width)
  and ``y`` (rows,); features are named ``x0``, ``x1``, ... A 3-D ``X`` is
  flattened and its ``(height, width)`` recorded as ``image_shape``.

A bundled name is recognised before any path, so a dataset name never depends on
the current directory. Every user-facing problem raises a one-line
:class:`~caviar.errors.CaviarError` naming the file, dataset or column.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn import datasets as _skd

from caviar.errors import CaviarError

BUNDLED_DATASETS: tuple[str, ...] = ("iris", "wine", "breast_cancer", "digits", "diabetes")
"""Names of the scikit-learn datasets that :func:`load_source` accepts."""

FILE_EXTENSIONS: tuple[str, ...] = (".csv", ".parquet", ".pq", ".npz")
"""File extensions that :func:`load_source` can read."""

_MAX_LISTED = 10


@dataclass
class RawData:
    """Features and target as loaded, before any split or preprocessing.

    Attributes:
        X: features, one column per input variable, original dtypes.
        y: target values, original dtype; ``y.name`` is the target's name.
        name: the dataset name or the file name.
        image_shape: ``(height, width)`` when the features are the pixels of an
            image (``digits``, or a 3-D ``X`` in an ``.npz``), else ``None``.
    """

    X: pd.DataFrame
    y: pd.Series
    name: str
    image_shape: tuple[int, int] | None = None
    input_shape: tuple[int, ...] | None = None  # one example's shape for N-d arrays X


def list_names(names: Sequence[Any], limit: int = _MAX_LISTED) -> str:
    """Join names with commas, truncated after ``limit`` with a count of the rest."""
    shown = ", ".join(str(n) for n in list(names)[:limit])
    rest = len(names) - limit
    return f"{shown}, ... ({rest} more)" if rest > 0 else shown


def _short_reason(exc: BaseException, limit: int = 160) -> str:
    """The first non-empty line of an exception message, truncated; no traceback."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    return reason if len(reason) <= limit else reason[: limit - 3] + "..."


def load_source(source: str, *, target: str | None = None) -> RawData:
    """Load a bundled dataset (by name) or a ``.csv``/``.parquet``/``.pq``/``.npz`` file.

    Args:
        source: a name from :data:`BUNDLED_DATASETS` (case-insensitive, ``-`` and
            ``_`` are interchangeable) or a path to a data file.
        target: the target column; required for ``.csv`` and ``.parquet`` files.
            Bundled datasets and ``.npz`` files have a fixed target, so it must be
            ``None`` (or ``"target"`` / ``"y"`` respectively).

    Raises:
        CaviarError: unknown name, missing file, unsupported extension, unreadable
            file, missing/absent target column, missing arrays, length mismatch,
            or no data.
    """
    key = source.strip().lower().replace("-", "_")
    if key in BUNDLED_DATASETS:
        if target not in (None, "target"):
            raise CaviarError(
                f"dataset '{key}' has a fixed target column 'target'; do not pass target "
                f"(got '{target}')"
            )
        return _load_bundled(key)

    path = Path(source)
    looks_like_path = bool(path.suffix) or "/" in source or os.sep in source or path.exists()
    if not looks_like_path:
        raise CaviarError(
            f"unknown dataset '{source}': not a file and not one of {', '.join(BUNDLED_DATASETS)}"
        )
    if not path.exists():
        raise CaviarError(f"data file not found: {source}")
    if path.is_dir():
        raise CaviarError(f"data path is a directory, not a file: {source}")
    ext = path.suffix.lower()
    if ext == ".csv":
        return _load_table(path, source, target, pd.read_csv)
    if ext in (".parquet", ".pq"):
        return _load_table(path, source, target, pd.read_parquet)
    if ext == ".npz":
        if target not in (None, "y"):
            raise CaviarError(
                f"{source}: .npz files have a fixed target array 'y'; do not pass target "
                f"(got '{target}')"
            )
        return _load_npz(path, source)
    raise CaviarError(
        f"unsupported data file extension '{ext or '(none)'}' for {source}: "
        f"expected one of {', '.join(FILE_EXTENSIONS)}"
    )


def _load_bundled(key: str) -> RawData:
    """Load one of scikit-learn's bundled datasets (no download)."""
    loaders: dict[str, Callable[[], Any]] = {
        "iris": _skd.load_iris,
        "wine": _skd.load_wine,
        "breast_cancer": _skd.load_breast_cancer,
        "digits": _skd.load_digits,
        "diabetes": lambda: _skd.load_diabetes(scaled=False),
    }
    bunch = loaders[key]()
    data = np.asarray(bunch.data)
    image_shape: tuple[int, int] | None = None
    if key == "digits":
        names = [f"pixel_{i}" for i in range(data.shape[1])]
        image_shape = (8, 8)
    else:
        names = [str(n) for n in bunch.feature_names]
    X = pd.DataFrame(data, columns=names)
    y = pd.Series(np.asarray(bunch.target), name="target")
    return RawData(X=X, y=y, name=key, image_shape=image_shape)


def _load_table(
    path: Path, source: str, target: str | None, reader: Callable[[Path], pd.DataFrame]
) -> RawData:
    """Read a CSV or Parquet table and split off the target column."""
    frame = read_table(path, source, reader)
    columns = list(frame.columns)
    if target is None:
        raise CaviarError(
            f"no target column given for {source}: pass the name of the target column "
            f"(columns: {list_names(columns)})"
        )
    if target not in frame.columns:
        raise CaviarError(
            f"target column '{target}' not found in {source}; available columns: "
            f"{list_names(columns)}"
        )
    if len(frame) == 0:
        raise CaviarError(f"data file has no rows: {source}")
    X = frame.drop(columns=[target])
    if X.shape[1] == 0:
        raise CaviarError(
            f"data file has no feature columns (only the target '{target}'): {source}"
        )
    return raw_from_arrays(X, frame[target], name=path.name, target_name=target)


def read_table(path: Path, source: str, reader: Callable[[Path], pd.DataFrame]) -> pd.DataFrame:
    """Read a CSV or Parquet file into a frame with string column names, one-line errors."""
    try:
        frame = reader(path)
    except pd.errors.EmptyDataError:
        raise CaviarError(f"data file is empty: {source}") from None
    except Exception as exc:  # any parser failure: report file and reason, one line
        raise CaviarError(f"cannot read {source}: {_short_reason(exc)}") from exc
    frame.columns = [str(c) for c in frame.columns]
    names = header_names(path) if reader is pd.read_csv else list(frame.columns)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:  # pandas would rename a repeat to 'name.1' and use it as another column
        raise CaviarError(
            f"{source} has duplicate column names: {list_names([repr(d) for d in dupes])}; "
            "rename them first"
        )
    return frame


def header_names(path: Path) -> list[str]:
    """The column names of a CSV file's header row, as written (pandas renames repeats)."""
    try:
        head = pd.read_csv(path, header=None, nrows=1, dtype=str, keep_default_na=False)
    except Exception:  # noqa: BLE001 - the full read already succeeded; nothing to add
        return []
    return [str(v) for v in head.iloc[0].tolist()] if len(head) else []


def _load_npz(path: Path, source: str) -> RawData:
    """Read arrays ``X`` and ``y`` from an ``.npz`` archive (no pickle)."""
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
    except OSError as exc:
        raise CaviarError(f"cannot read {source}: {_short_reason(exc)}") from exc
    if not magic.startswith(b"PK"):
        raise CaviarError(f"cannot read {source}: not a valid .npz archive (not a zip file)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            found = list(archive.files)
            absent = [k for k in ("X", "y") if k not in found]
            if absent:
                raise CaviarError(
                    f"{source} has no array {' or '.join(repr(k) for k in absent)} "
                    f"(arrays found: {list_names(found) or 'none'}); save with "
                    "np.savez(path, X=..., y=...)"
                )
            X = archive["X"]
            y = archive["y"]
    except CaviarError:
        raise
    except Exception as exc:  # corrupt archive, pickled object arrays, ...
        raise CaviarError(f"cannot read {source}: {_short_reason(exc)}") from exc
    return raw_from_arrays(X, y, name=path.name, target_name="y")


def raw_from_arrays(
    X: Any,
    y: Any,
    *,
    name: str = "arrays",
    target_name: str | None = None,
    feature_names: Sequence[str] | None = None,
    image_shape: tuple[int, int] | None = None,
) -> RawData:
    """Validate in-memory features and target and wrap them as :class:`RawData`.

    ``X`` may be a DataFrame (column names become strings) or an array of shape
    ``(n,)``, ``(n, F)`` or ``(n, H, W)`` (flattened; ``image_shape`` defaults to
    ``(H, W)``). Array features are named ``feature_names`` or ``x0``, ``x1``, ...
    ``y`` may be a Series (its name is kept unless ``target_name`` is given), a
    one-column DataFrame, or an array of shape ``(n,)`` or ``(n, 1)``.

    Raises:
        CaviarError: wrong shapes, mismatched lengths, no rows, no features,
            duplicate feature names, or an image shape that does not fit.
    """
    frame, image_shape, input_shape = _feature_frame(X, name, feature_names, image_shape)
    series = _target_series(y, name, target_name)
    if len(frame) != len(series):
        raise CaviarError(f"X has {len(frame)} rows but y has {len(series)} in {name}")
    if len(frame) == 0:
        raise CaviarError(f"no rows in {name}")
    if frame.shape[1] == 0:
        raise CaviarError(f"no feature columns in {name}")
    dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
    if dupes:
        raise CaviarError(f"duplicate feature column names in {name}: {list_names(dupes)}")
    if image_shape is not None:
        image_shape = (int(image_shape[0]), int(image_shape[1]))
        if image_shape[0] * image_shape[1] != frame.shape[1]:
            raise CaviarError(
                f"image shape {image_shape} does not fit the {frame.shape[1]} features of {name}"
            )
    return RawData(X=frame, y=series, name=name, image_shape=image_shape, input_shape=input_shape)


def _feature_frame(
    X: Any,
    name: str,
    feature_names: Sequence[str] | None,
    image_shape: tuple[int, int] | None,
) -> tuple[pd.DataFrame, tuple[int, int] | None, tuple[int, ...] | None]:
    """``X`` of :func:`raw_from_arrays` as a DataFrame of string-named columns, with the
    image shape (``image_shape``, or that of ``(n, H, W)`` / ``(n, 1, H, W)`` arrays) and
    the per-row shape of 3-d and 4-d arrays (flattened)."""
    input_shape: tuple[int, ...] | None = None
    if isinstance(X, pd.DataFrame):
        frame = X.reset_index(drop=True)
        frame.columns = [str(c) for c in frame.columns]
        return frame, image_shape, input_shape
    arr = np.asarray(X)
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    elif arr.ndim in (3, 4):  # (n, H, W) / (n, C, L) or (n, C, H, W): kept flat
        input_shape = tuple(int(s) for s in arr.shape[1:])
        if image_shape is None and arr.ndim == 3:
            image_shape = (int(arr.shape[1]), int(arr.shape[2]))
        elif image_shape is None and arr.shape[1] == 1:
            image_shape = (int(arr.shape[2]), int(arr.shape[3]))
        arr = arr.reshape(arr.shape[0], -1)
    elif arr.ndim != 2:
        raise CaviarError(
            f"X in {name} must have shape (rows, features), (rows, channels, length) or "
            f"(rows, channels, height, width); got {arr.shape}"
        )
    if feature_names is None:
        names = [f"x{i}" for i in range(arr.shape[1])]
    else:
        names = [str(n) for n in feature_names]
        if len(names) != arr.shape[1]:
            raise CaviarError(
                f"{len(names)} feature names given for {arr.shape[1]} feature columns in {name}"
            )
    return pd.DataFrame(arr, columns=names), image_shape, input_shape


def _target_series(y: Any, name: str, target_name: str | None) -> pd.Series:
    """``y`` of :func:`raw_from_arrays` as a Series named ``target_name``, else its own
    name, else ``"y"``."""
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise CaviarError(f"y in {name} must be one column; got {y.shape[1]} columns")
        y = y.iloc[:, 0]
    if isinstance(y, pd.Series):
        series = y.reset_index(drop=True)
    else:
        y_arr = np.asarray(y)
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = y_arr[:, 0]
        if y_arr.ndim != 1:
            raise CaviarError(f"y in {name} must have shape (rows,); got {y_arr.shape}")
        series = pd.Series(y_arr)
    series.name = str(target_name or series.name or "y")
    return series
