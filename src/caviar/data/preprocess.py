"""Imputation, standardization, one-hot encoding and label encoding, fitted on training rows.

The fitted preprocessing is a plain description of fitted values, stored in a model's
``model.json`` under ``"preprocessing"`` (:meth:`Preprocessor.to_json`, format
``caviar.preprocessor`` version 2)::

    "features": [                                  # one entry per input column, in order
      {"name": "age", "kind": "numeric", "mean": 41.2, "std": 12.9,
       "fill": 39.0, "indicator": true},           # fill: null = no gap in training
      {"name": "city", "kind": "categorical",
       "categories": ["Lyon", "Paris", null],      # kept levels in code order; null = missing
       "other": true, "pooled": ["Nice"]},         # 'other' slot shared by pooled + unseen
    ],
    "unknown": "warn", "impute": "median",
    "target_mean": null, "target_std": null        # regression target standardization

and :meth:`Preprocessor.transform` is ONE two-step transform
(:mod:`caviar.data.encoding`): raw values -> ``numbers`` (NaN kept) and integer
``codes`` (:func:`~caviar.data.encoding.table_codes`, the only step that reads text),
then codes and numbers -> model input with tensor operations only
(:func:`~caviar.data.encoding.model_input` on
:func:`~caviar.data.encoding.fitted_arrays`: fill NaN, 0/1 indicator, standardize,
one-hot of codes).

Real-valued variables are standardized (:ref:`bg-normalization`, ``x <- (x - mu) / sigma``)
and a categorical variable with domain ``{v_1, ..., v_k}`` becomes ``k`` indicator
variables:

* **numeric** columns: missing values filled by ``impute`` (median by default), then
  ``x <- (x - mu) / sigma`` with ``mu``, ``sigma`` (population std) of the filled
  training column; a constant column gets ``mu`` = its value and ``sigma = 1``. A
  column with gaps in training gets a ``<name>:missing`` indicator after it.
* **categorical** columns (object, string, category, bool, or named in
  ``categorical``): one indicator per kept level (at most ``max_onehot``, each seen at
  least ``min_frequency`` times; missing is a level of its own), plus an ``other``
  indicator shared by the pooled levels (:mod:`caviar.data.table_fit`). This is the
  documented alternative to learned embeddings for high-cardinality columns: the most
  frequent levels one-hot, the rest pooled, so the encoding stays plain tensor ops.
* **unseen levels** at transform time take the ``other`` indicator (all zeros without
  one) and are counted in a :class:`~caviar.errors.CaviarWarning` (``unknown="warn"``),
  refused (``"error"``) or encoded silently (``"ignore"``).
* **labels** (classification): ``classes_`` sorted distinct labels, codes ``int64``;
  :meth:`Preprocessor.decode_labels` maps back to the original values and dtype.
  Regression targets are float64, standardized by the training mean/std only with
  ``standardize_target`` (:meth:`decode_labels` maps predictions back).

Output feature order follows the input column order: ``c``, ``c:missing``,
``c=<level>`` (``c=<missing>`` for the missing level), ``c=<other>``. Infinite values
(and, with ``impute="none"``, missing ones) are refused with a one-line
:class:`~caviar.errors.CaviarError` naming the column(s) and counts.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from caviar.data.columns import (
    CategoricalColumn,
    NumericColumn,
    distinct_sorted,
    feature_kind,
    fit_numeric,
    label_dtype_of,
    native_scalar,
)
from caviar.data.encoding import fitted_arrays, model_input, table_codes
from caviar.data.feature_checks import check_features, plural
from caviar.data.options import TableOptions
from caviar.data.sources import list_names
from caviar.data.table_fit import fit_column
from caviar.data.task import Task, as_target_series, is_numeric_target
from caviar.errors import CaviarError, CaviarWarning

__all__ = [
    "CategoricalColumn",
    "NumericColumn",
    "Preprocessor",
    "check_features",
    "feature_kind",
    "fit_numeric",
]


class Preprocessor:
    """Impute and standardize numeric features, one-hot encode categorical ones, encode labels.

    Usage: ``Preprocessor(task, target=...).fit(X_train, y_train, classes=y_all)``,
    then :meth:`transform`, :meth:`encode_labels`, :meth:`decode_labels`.

    The attributes below are set by :meth:`fit`.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        target: the target column name; it is dropped from frames given to
            :meth:`transform` if present.
        options: the :class:`~caviar.data.options.TableOptions` it was fitted with.
        columns: one :class:`NumericColumn` / :class:`CategoricalColumn` per input
            column, in input order.
        classes_: sorted distinct labels (classification) or ``None``.
        label_dtype: numpy dtype name used by :meth:`decode_labels`.
        target_mean, target_std: the regression target's standardization, or ``None``.
        last_counts: ``{"imputed": {col: n}, "unknown": {col: n}}`` of the last
            :meth:`transform`.
    """

    def __init__(
        self, task: Task, *, target: str | None = None, options: TableOptions | None = None
    ) -> None:
        if task not in ("classification", "regression"):
            raise CaviarError(f"unknown task '{task}': expected classification or regression")
        self.task: Task = task
        self.target: str | None = target
        self.options = options if options is not None else TableOptions()
        self.columns: list[NumericColumn | CategoricalColumn] = []
        self.classes_: list[Any] | None = None
        self.label_dtype: str = "float64" if task == "regression" else "object"
        self.target_mean: float | None = None
        self.target_std: float | None = None
        self.last_counts: dict[str, dict[str, int]] = {"imputed": {}, "unknown": {}}
        self.fitted = False

    # ------------------------------------------------------------------ fitting
    def fit(self, X: pd.DataFrame, y: Any = None, *, classes: Any = None) -> Preprocessor:
        """Learn fill values, means/stds, levels and labels from ``X`` (training rows only).

        Args:
            X: training features; the target column, if present, is ignored.
            y: training target (validated; for classification its labels define
                ``classes_`` unless ``classes`` is given; for regression with
                ``standardize_target`` its mean and std are the target's scale).
            classes: optional values whose distinct entries define the label set,
                e.g. the full target, so validation/test labels absent from the
                training rows stay encodable. Their dtype sets ``label_dtype``.

        Returns:
            ``self``.
        """
        self.fit_features(X)
        if self.task == "classification":
            source = classes if classes is not None else y
            if source is None:
                raise CaviarError("classification needs the target labels to fit the encoder")
            s = as_target_series(source)
            _refuse_missing_target(s, self.target or s.name)
            self.classes_ = distinct_sorted(s.to_numpy(dtype=object), f"target '{s.name}'")
            self.label_dtype = label_dtype_of(s)
        else:
            self.classes_ = None
            self.label_dtype = "float64"
        self.fitted = True
        if y is not None:
            self.encode_labels(y)  # validates the training target (NaN, unknown, non-numeric)
            if self.task == "regression" and self.options.standardize_target:
                stats = fit_numeric("target", self._raw_target(y))
                self.target_mean, self.target_std = stats.mean, stats.std
        return self

    def fit_features(self, X: pd.DataFrame) -> Preprocessor:
        """Fit the input columns only (no labels); see :meth:`fit`."""
        if not isinstance(X, pd.DataFrame):
            raise CaviarError("Preprocessor.fit expects a pandas DataFrame of features")
        X = self._drop_target(X)
        if len(X) == 0:
            raise CaviarError("cannot fit the preprocessor on 0 rows")
        if X.shape[1] == 0:
            raise CaviarError("cannot fit the preprocessor without feature columns")
        dupes = sorted({str(c) for c in X.columns[X.columns.duplicated()]})
        if dupes:
            raise CaviarError(f"duplicate feature column names: {list_names(dupes)}")
        absent = [c for c in self.options.categorical if c not in {str(n) for n in X.columns}]
        if absent:
            raise CaviarError(f"data.categorical names no feature column {list_names(absent)}")
        check_features(X, allow_missing=self.options.impute != "none")
        self.columns = [fit_column(X[name].rename(str(name)), self.options) for name in X.columns]
        self.fitted = True
        return self

    # ------------------------------------------------------------ properties
    @property
    def input_columns(self) -> list[str]:
        """Names of the input columns :meth:`transform` needs, in order."""
        return [c.name for c in self.columns]

    @property
    def feature_names(self) -> list[str]:
        """Names of the output features (module docstring), in output order."""
        names: list[str] = []
        for c in self.columns:
            if isinstance(c, NumericColumn):
                names.extend([c.name, f"{c.name}:missing"] if c.indicator else [c.name])
            else:
                names.extend(f"{c.name}={'<missing>' if v is None else v}" for v in c.categories)
                names.extend([f"{c.name}=<other>"] if c.other else [])
        return names

    @property
    def n_features(self) -> int:
        """Width of :meth:`transform`'s output."""
        return len(self.feature_names)

    @property
    def n_classes(self) -> int | None:
        """Number of classes (classification) or ``None``."""
        return None if self.classes_ is None else len(self.classes_)

    # ------------------------------------------------------------- transform
    def transform(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Map features to a float64 array ``(n, n_features)`` (the module's two steps).

        ``X`` is a DataFrame with (at least) the fitted input columns; extra
        columns, including the target, are ignored. A 2-D array is accepted when
        its width equals the number of input columns (taken in fitted order).

        Raises:
            CaviarError: missing columns, infinite values (missing ones with
                ``impute="none"``), text in a numeric column, or an unseen category
                with ``unknown="error"``.
        """
        self._check_fitted()
        X = self._input_frame(X)
        check_features(X, allow_missing=self.options.impute != "none")
        codes = table_codes(self.columns, X)
        self.last_counts = {"imputed": dict(codes.missing), "unknown": dict(codes.unknown)}
        if codes.unknown and self.options.unknown != "ignore":
            listed = list_names(
                [
                    f"'{c}' ({k}, e.g. {codes.unknown_examples[c]!r})"
                    for c, k in codes.unknown.items()
                ]
            )
            total = sum(codes.unknown.values())
            text = f"{plural(total, 'value')} of categories never seen in training: {listed}"
            if self.options.unknown == "error":
                raise CaviarError(f'{text} (data.unknown = "error")')
            warnings.warn(f"{text}; encoded as unknown", CaviarWarning, stacklevel=2)
        return model_input(fitted_arrays(self.columns), codes.numbers, codes.codes)

    def _input_frame(self, X: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """The fitted input columns of ``X`` (a frame, or an array in fitted order)."""
        if isinstance(X, np.ndarray):
            if X.ndim != 2 or X.shape[1] != len(self.columns):
                raise CaviarError(
                    f"expected features of shape (rows, {len(self.columns)}); got {X.shape}"
                )
            X = pd.DataFrame(X, columns=self.input_columns).infer_objects()
        if not isinstance(X, pd.DataFrame):
            raise CaviarError("transform expects a pandas DataFrame or a 2-D numpy array")
        present = {str(c) for c in X.columns}
        absent = [name for name in self.input_columns if name not in present]
        if absent:
            raise CaviarError(
                f"missing feature columns: {list_names(absent)} "
                f"(expected {len(self.input_columns)} columns)"
            )
        return X.rename(columns=str)[self.input_columns]

    # ---------------------------------------------------------------- labels
    def _raw_target(self, y: Any) -> np.ndarray:
        s = as_target_series(y)
        name = self.target or s.name
        _refuse_missing_target(s, name)
        if not is_numeric_target(s):
            raise CaviarError(
                f"target '{name}' is not numeric (dtype {s.dtype}); regression needs numbers"
            )
        values = s.to_numpy(dtype=np.float64)
        if np.isinf(values).any():
            raise CaviarError(f"target '{name}' has infinite values")
        return values

    def encode_labels(self, y: Any) -> np.ndarray:
        """Classification: labels -> int64 codes into ``classes_``; regression: float64
        values (standardized when the target was).

        Raises:
            CaviarError: missing values, a label not seen when fitting, or a
                non-numeric / infinite regression target.
        """
        self._check_fitted()
        if self.task == "regression":
            values = self._raw_target(y)
            if self.target_mean is None or self.target_std is None:
                return values
            return (values - self.target_mean) / self.target_std
        s = as_target_series(y)
        name = self.target or s.name
        _refuse_missing_target(s, name)
        assert self.classes_ is not None
        labels = s.to_numpy(dtype=object)
        codes = pd.Index(self.classes_, dtype=object).get_indexer(pd.Index(labels, dtype=object))
        if (codes < 0).any():
            unknown = native_scalar(labels[np.flatnonzero(codes < 0)[0]])
            raise CaviarError(
                f"target '{name}' has label {unknown!r} not seen when fitting "
                f"(known classes: {list_names([repr(c) for c in self.classes_])})"
            )
        return codes.astype(np.int64)

    def decode_labels(self, codes: Any) -> np.ndarray:
        """Map int codes back to the original labels (original dtype); regression: float64
        values in the target's units (``y * target_std + target_mean`` when standardized)."""
        self._check_fitted()
        arr = np.asarray(codes)
        if self.task == "regression":
            out = arr.astype(np.float64)
            if self.target_mean is None or self.target_std is None:
                return out
            return out * self.target_std + self.target_mean
        assert self.classes_ is not None
        n = len(self.classes_)
        if arr.size and (arr.dtype.kind not in "iu" or arr.min() < 0 or arr.max() >= n):
            raise CaviarError(
                f"label codes must be integers in [0, {len(self.classes_)}); "
                f"got dtype {arr.dtype}, range [{arr.min()}, {arr.max()}]"
            )
        table = np.empty(len(self.classes_), dtype=object)
        table[:] = self.classes_
        out = table[arr.astype(np.int64)]
        return out if self.label_dtype == "object" else out.astype(self.label_dtype)

    def decode_spread(self, std: np.ndarray) -> np.ndarray:
        """A spread (standard deviation) of regression outputs in the target's units."""
        return np.asarray(std, dtype=np.float64) * (self.target_std or 1.0)

    # ------------------------------------------------------------------- json
    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable dict that :meth:`from_json` turns back into this preprocessor."""
        from caviar.data.preprocess_json import preprocessor_to_json

        self._check_fitted()
        return preprocessor_to_json(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Preprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_json` output (version 1 or 2).

        Raises:
            CaviarError: the dict is not a preprocessor description of a known version.
        """
        from caviar.data.preprocess_json import preprocessor_from_json

        return preprocessor_from_json(cls, data)

    # --------------------------------------------------------------- helpers
    def _drop_target(self, X: pd.DataFrame) -> pd.DataFrame:
        if self.target is not None and self.target in X.columns:
            return X.drop(columns=[self.target])
        return X

    def _check_fitted(self) -> None:
        if not self.fitted:
            raise CaviarError("the preprocessor is not fitted; call fit() first")

    def __repr__(self) -> str:
        state = "unfitted"
        if self.fitted:
            state = f"{len(self.columns)} columns -> {self.n_features} features"
        return f"Preprocessor(task={self.task!r}, target={self.target!r}, {state})"


def _refuse_missing_target(s: pd.Series, name: Any) -> None:
    n_missing = int(s.isna().sum())
    if n_missing:
        raise CaviarError(
            f"target '{name}' has {plural(n_missing, 'missing value')} (NaN); drop those rows first"
        )
