"""From a source to model-ready arrays: load, detect the task, split, preprocess.

Pipeline (:func:`prepare_data` for a dataset name or file, :func:`prepare_arrays`
for in-memory data):

1. load features ``X`` and target ``y`` (:mod:`caviar.data.sources`);
2. drop the rows whose target is missing (a one-line :class:`~caviar.errors.CaviarWarning`
   with their count; a target is never imputed), reject infinite features (and
   missing ones with ``impute="none"``) over all rows, so counts in messages are
   complete, and resolve the task (:func:`caviar.data.task.detect_task`);
3. split row indices into train / validation / test, stratified for
   classification (:func:`caviar.data.split.split_indices`);
4. fit a :class:`~caviar.data.preprocess.Preprocessor` on the **training rows
   only** (means/stds and categories; :ref:`bg-normalization`: x <- (x - mu)
   / sigma; one-hot for categorical inputs) and apply it to all splits.
   The label *set* comes from the full target, so every split's labels are
   encodable and ``n_classes`` does not depend on the seed (knowing which classes
   exist is not a statistic of the features, so nothing leaks). Fill values, missing
   indicators, kept levels and the target's standardization
   (:class:`~caviar.data.options.TableOptions`) are fitted there too; the count of
   values imputed in each column (all splits) is a one-line warning and
   ``PreparedData.imputed``.

Regression targets are kept raw (float64) unless ``standardize_target``.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from caviar.data.channels import check_shape, image_shape_of, pool_channel_statistics
from caviar.data.feature_checks import plural
from caviar.data.options import TableOptions
from caviar.data.preprocess import Preprocessor, check_features
from caviar.data.sources import RawData, list_names, load_source, raw_from_arrays
from caviar.data.split import split_indices
from caviar.data.table_fit import check_column_kinds
from caviar.data.task import Task, detect_task
from caviar.data.user_test import load_test, npz_test, with_test
from caviar.data.weights import attach_weights, pop_weight_column
from caviar.errors import CaviarWarning


@dataclass
class PreparedData:
    """Model-ready splits plus everything needed to map new data the same way.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        X_train, X_val, X_test: float64 arrays ``(n, n_features)``.
        y_train, y_val, y_test: int64 class codes ``(n,)`` for classification,
            float64 raw targets ``(n,)`` for regression.
        n_classes: number of classes (classification) or ``None``.
        feature_names: output feature names (``col`` or ``col=category``).
        preprocessor: the fitted :class:`Preprocessor` (fitted on train rows), or
            ``None`` when the arrays are used as given (the scikit-learn estimators).
        image_shape: ``(height, width)`` if the features are image pixels, else ``None``.
        input_shape: one example's shape when the rows are flattened N-d examples
            (``(C, L)`` signals, ``(C, H, W)`` images; :mod:`caviar.data.channels`).
        source_name: dataset or file name.
        train_idx, val_idx, test_idx: row indices of each split in the source
            (sorted int64), or ``None`` when built by hand.
        w_train, w_val, w_test: sample weights ``(n,)`` of each split
            (``data.weight``, :mod:`caviar.data.weights`), or ``None`` (all 1).
        imputed: values filled per column over all splits (``{}``: none).
        dropped_rows: rows dropped because their target was missing.
        target_scale: ``(mean, std)`` per output of a target the scikit-learn
            estimators standardized, or ``None``.
        raw_train_val: the raw feature columns of the training then validation rows
            (the rows of :func:`train_val`), from which cross-validation refits the
            preprocessing on each fold's training rows
            (:mod:`caviar.data.fold_preprocess`); ``None`` when there is no preprocessor.
    """

    task: Task
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int | None
    feature_names: list[str]
    preprocessor: Preprocessor | None  # None: arrays used as given (caviar.sklearn)
    image_shape: tuple[int, int] | None = None
    source_name: str = "arrays"
    input_shape: tuple[int, ...] | None = None  # one example's shape (N-d inputs), else None
    train_idx: np.ndarray | None = None
    val_idx: np.ndarray | None = None
    test_idx: np.ndarray | None = None
    w_train: np.ndarray | None = None
    w_val: np.ndarray | None = None
    w_test: np.ndarray | None = None
    imputed: dict[str, int] | None = None
    dropped_rows: int = 0
    target_scale: tuple[np.ndarray, np.ndarray] | None = None  # estimators: (mean, std) of y
    raw_train_val: Any = None  # pandas DataFrame of the train+val rows' raw features, or None

    @property
    def n_features(self) -> int:
        """Number of input features after preprocessing."""
        return int(self.X_train.shape[1])

    def train_val(self) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation rows concatenated (see :func:`train_val`)."""
        return train_val(self)


def train_val(data: PreparedData) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(X, y)`` with the training rows followed by the validation rows.

    Used to refit a final model on train+val. The preprocessing is *not* refitted:
    the arrays stay in the space of the train-fitted preprocessor, so the test
    split and future inputs keep matching them.
    """
    X = np.concatenate([data.X_train, data.X_val], axis=0)
    y = np.concatenate([data.y_train, data.y_val], axis=0)
    return X, y


def drop_missing_target(raw: RawData) -> tuple[RawData, np.ndarray | None]:
    """``raw`` without the rows whose target is missing, and the kept row positions
    (``None`` when none was dropped); a one-line warning gives the count."""
    missing = raw.y.isna().to_numpy()
    if not missing.any():
        return raw, None
    keep = np.flatnonzero(~missing)
    if keep.size == 0:
        from caviar.errors import CaviarError

        raise CaviarError(f"target '{raw.y.name}' is missing in all {len(missing)} rows")
    warnings.warn(
        f"dropped {plural(int(missing.sum()), 'row')} whose target '{raw.y.name}' is missing "
        f"({keep.size} of {len(missing)} rows kept; a target is never imputed)",
        CaviarWarning,
        stacklevel=3,
    )
    kept = RawData(  # the index keeps the loaded rows' numbers (for messages)
        X=raw.X.iloc[keep],
        y=raw.y.iloc[keep],
        name=raw.name,
        image_shape=raw.image_shape,
        input_shape=raw.input_shape,
    )
    return kept, keep


def note_imputed(counts: list[dict[str, int]]) -> dict[str, int]:
    """Sum the per-split imputation counts; one warning line names the columns."""
    total: dict[str, int] = {}
    for split in counts:
        for name, k in split.items():
            total[name] = total.get(name, 0) + k
    if total:
        listed = list_names([f"'{c}' ({k})" for c, k in total.items()])
        warnings.warn(
            f"imputed {plural(sum(total.values()), 'missing value')} in "
            f"{plural(len(total), 'column')}: {listed} (fill values fitted on the training rows)",
            CaviarWarning,
            stacklevel=3,
        )
    return total


def prepare_raw(
    raw: RawData,
    *,
    task: str = "auto",
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    shape: Sequence[int] | None = None,
    options: TableOptions | None = None,
) -> PreparedData:
    """Run steps 2-4 of the module pipeline on already-loaded :class:`RawData`.

    ``shape`` (``data.shape``) reads each row as one example of that shape; N-d inputs
    (``shape`` or an N-d array) are standardized per channel (:mod:`caviar.data.channels`).
    ``options``: how columns are fitted (:class:`~caviar.data.options.TableOptions`).
    """
    options = options if options is not None else TableOptions()
    n_loaded = len(raw.y)
    raw, _ = drop_missing_target(raw)
    input_shape = raw.input_shape
    if shape is not None:
        input_shape = check_shape(tuple(shape), raw.X.shape[1], raw.name)
    check_features(raw.X, allow_missing=options.impute != "none" and input_shape is None)
    check_column_kinds(raw.X, options)
    resolved = detect_task(raw.y, task)
    train_idx, val_idx, test_idx = split_indices(
        len(raw.y),
        raw.y.to_numpy(dtype=object) if resolved == "classification" else None,
        task=resolved,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
    )
    pre = Preprocessor(resolved, target=str(raw.y.name), options=options)
    classes = raw.y if resolved == "classification" else None
    pre.fit(raw.X.iloc[train_idx], raw.y.iloc[train_idx], classes=classes)
    if input_shape is not None:
        pool_channel_statistics(pre, raw.X.iloc[train_idx].to_numpy(), input_shape)
    counts: list[dict[str, int]] = []

    def arrays(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        X = pre.transform(raw.X.iloc[idx])
        counts.append(pre.last_counts["imputed"])
        return X, pre.encode_labels(raw.y.iloc[idx])

    X_train, y_train = arrays(train_idx)
    X_val, y_val = arrays(val_idx)
    X_test, y_test = arrays(test_idx)
    return PreparedData(
        task=resolved,
        X_train=X_train,
        y_train=y_train,
        X_val=X_val,
        y_val=y_val,
        X_test=X_test,
        y_test=y_test,
        n_classes=pre.n_classes,
        feature_names=pre.feature_names,
        preprocessor=pre,
        image_shape=image_shape_of(input_shape) if shape is not None else raw.image_shape,
        source_name=raw.name,
        input_shape=input_shape,
        train_idx=train_idx,
        val_idx=val_idx,
        test_idx=test_idx,
        imputed=note_imputed(counts),
        dropped_rows=n_loaded - len(raw.y),
        raw_train_val=raw.X.iloc[np.concatenate([train_idx, val_idx])],
    )


def prepare_data(
    source: str,
    *,
    target: str | None = None,
    task: str = "auto",
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    shape: Sequence[int] | None = None,
    weight: str | None = None,
    test: str | None = None,
    options: TableOptions | None = None,
) -> PreparedData:
    """Load ``source`` (bundled dataset name or data file) and prepare its splits;
    ``options`` says how columns are fitted (:class:`~caviar.data.options.TableOptions`);
    ``weight`` names a column of sample weights (:mod:`caviar.data.weights`); ``test``
    a file of the same columns that replaces the random test split, as do arrays
    ``X_test``/``y_test`` in an ``.npz`` source (:mod:`caviar.data.user_test`).

    See :func:`caviar.data.sources.load_source` for ``source``/``target`` and
    :func:`caviar.data.split.split_indices` for the split arguments.

    Raises:
        CaviarError: any problem with the source, target, task or split.
    """
    loaded = load_source(source, target=target)
    raw, _ = drop_missing_target(loaded)
    weights = test_weights = None
    if weight is not None:
        raw, weights = pop_weight_column(raw, weight)
    raw_test = load_test(test, target) if test is not None else npz_test(source)
    if raw_test is not None:
        raw_test, _ = drop_missing_target(raw_test)
    if raw_test is not None and weight is not None:
        raw_test, test_weights = pop_weight_column(raw_test, weight)
    data = prepare_raw(
        raw,
        task=task,
        val_fraction=val_fraction,
        test_fraction=0.0 if raw_test is not None else test_fraction,
        seed=seed,
        shape=shape,
        options=options,
    )
    data = data if weights is None else attach_weights(data, weights)
    data.dropped_rows = len(loaded.y) - len(raw.y)
    return data if raw_test is None else with_test(data, raw_test, test_weights)


def prepare_arrays(
    X: Any,
    y: Any,
    *,
    task: str = "auto",
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    feature_names: Sequence[str] | None = None,
    target_name: str | None = None,
    image_shape: tuple[int, int] | None = None,
    name: str = "arrays",
    shape: Sequence[int] | None = None,
    options: TableOptions | None = None,
) -> PreparedData:
    """Prepare in-memory data: ``X`` a DataFrame or array, ``y`` a Series, array or list.

    Array features are named ``feature_names`` or ``x0``, ``x1``, ...; an N-d ``X``
    ``(n, C, L)`` (signals) or ``(n, C, H, W)`` (images) is kept as flat rows with
    ``input_shape`` one example's shape and standardized per channel (a 3-D ``X`` also
    sets ``image_shape=(H, W)`` for the image augmentations); ``shape`` reads 2-D rows
    as examples of that shape. The target is named
    ``target_name``, else the Series' name, else ``"y"``.

    Raises:
        CaviarError: shape/length problems or any problem with the task or split.
    """
    raw = raw_from_arrays(
        X,
        y,
        name=name,
        target_name=target_name,
        feature_names=feature_names,
        image_shape=image_shape,
    )
    return prepare_raw(
        raw,
        task=task,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
        seed=seed,
        shape=shape,
        options=options,
    )


def data_fingerprint(data: PreparedData) -> str:
    """A short SHA-256 of the six prepared arrays (values, shapes, dtypes): the same splits
    give the same text, so a resumed search can tell it was given other data."""
    h = hashlib.sha256()
    for a in (data.X_train, data.y_train, data.X_val, data.y_val, data.X_test, data.y_test):
        arr = np.ascontiguousarray(a)
        h.update(f"{arr.dtype.str}{arr.shape}".encode())
        h.update(arr.tobytes() if arr.dtype != object else repr(arr.tolist()).encode())
    return h.hexdigest()[:16]
