"""Feature standardization, one-hot encoding and label encoding, fitted on training rows.

Following seed 003 ("Data Normalization", overall ``x <- (x - mu) / sigma``) and
seed 004 ("real-valued variables are normalized by subtracting the mean, and
dividing by the standard deviation"; "a categorical input variable X with domain
{v_1, ..., v_k} is represented as k input indicator variables"):

* **numeric** columns (int/float dtypes): ``x <- (x - mu) / sigma`` with ``mu`` and
  ``sigma`` (population std, ``ddof=0``) computed on the rows passed to
  :meth:`Preprocessor.fit`, which must be the training split only. A constant
  column gets ``mu`` = its value and ``sigma = 1``, so it maps to 0.
* **categorical** columns (object, string, category or bool dtype): one indicator
  column per category seen at fit time, categories sorted (bools, then numbers,
  then strings). A category not seen at fit time encodes as all zeros.
* **labels** (classification): ``classes_`` is the sorted list of distinct labels,
  codes are ``int64`` indices into it; :meth:`Preprocessor.decode_labels` maps codes
  back to the original values and dtype. Regression targets are kept raw (not
  standardized): :meth:`Preprocessor.encode_labels` only converts them to float64.

Output feature order follows the input column order; a categorical column ``c``
contributes features named ``c=<category>``. Missing (NaN/None) or infinite
feature values are rejected with a one-line :class:`~caviar.errors.CaviarError`
naming the column(s) and counts, at fit and at transform time.

:meth:`Preprocessor.to_json` returns plain JSON types; labels and categories keep
their Python type (int, float, str, bool) through ``json.dumps``/``json.loads``,
and floats round-trip exactly, so :meth:`Preprocessor.from_json` rebuilds an
identical preprocessor.
"""

from __future__ import annotations

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
    object_values,
)
from caviar.data.feature_checks import check_features, plural
from caviar.data.sources import list_names
from caviar.data.task import Task, as_target_series, is_numeric_target
from caviar.errors import CaviarError

JSON_FORMAT = "caviar.preprocessor"
JSON_VERSION = 1

__all__ = [
    "CategoricalColumn",
    "NumericColumn",
    "Preprocessor",
    "check_features",
    "feature_kind",
    "fit_numeric",
]


class Preprocessor:
    """Standardize numeric features, one-hot encode categorical ones, encode labels.

    Usage: ``Preprocessor(task, target=...).fit(X_train, y_train, classes=y_all)``,
    then :meth:`transform`, :meth:`encode_labels`, :meth:`decode_labels`.

    The attributes below are set by :meth:`fit`.

    Attributes:
        task: ``"classification"`` or ``"regression"``.
        target: the target column name; it is dropped from frames given to
            :meth:`transform` if present.
        columns: one :class:`NumericColumn` / :class:`CategoricalColumn` per input
            column, in input order.
        classes_: sorted distinct labels (classification) or ``None``.
        label_dtype: numpy dtype name used by :meth:`decode_labels` (``"object"``
            for strings and mixed labels).
    """

    def __init__(self, task: Task, *, target: str | None = None) -> None:
        if task not in ("classification", "regression"):
            raise CaviarError(f"unknown task '{task}': expected classification or regression")
        self.task: Task = task
        self.target: str | None = target
        self.columns: list[NumericColumn | CategoricalColumn] = []
        self.classes_: list[Any] | None = None
        self.label_dtype: str = "float64" if task == "regression" else "object"
        self.fitted = False

    # ------------------------------------------------------------------ fitting
    def fit(self, X: pd.DataFrame, y: Any = None, *, classes: Any = None) -> Preprocessor:
        """Learn means/stds, categories and labels from ``X`` (training rows only).

        Args:
            X: training features; the target column, if present, is ignored.
            y: training target (validated; for classification its labels define
                ``classes_`` unless ``classes`` is given).
            classes: optional values whose distinct entries define the label set,
                e.g. the full target, so validation/test labels absent from the
                training rows stay encodable. Their dtype sets ``label_dtype``.

        Returns:
            ``self``.
        """
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
        check_features(X)
        columns: list[NumericColumn | CategoricalColumn] = []
        for name in X.columns:
            col = X[name]
            if feature_kind(col) == "numeric":
                columns.append(fit_numeric(str(name), col.to_numpy(dtype=np.float64)))
            else:
                cats = distinct_sorted(object_values(col), f"feature '{name}'")
                columns.append(CategoricalColumn(str(name), tuple(cats)))
        self.columns = columns

        if self.task == "classification":
            source = classes if classes is not None else y
            if source is None:
                raise CaviarError("classification needs the target labels to fit the encoder")
            s = as_target_series(source)
            name = self.target or s.name
            n_missing = int(s.isna().sum())
            if n_missing:
                raise CaviarError(
                    f"target '{name}' has {plural(n_missing, 'missing value')} (NaN); "
                    "drop those rows first"
                )
            self.classes_ = distinct_sorted(s.to_numpy(dtype=object), f"target '{name}'")
            self.label_dtype = label_dtype_of(s)
        else:
            self.classes_ = None
            self.label_dtype = "float64"
        self.fitted = True
        if y is not None:
            self.encode_labels(y)  # validates the training target (NaN, unknown, non-numeric)
        return self

    # ------------------------------------------------------------ properties
    @property
    def input_columns(self) -> list[str]:
        """Names of the input columns :meth:`transform` needs, in order."""
        return [c.name for c in self.columns]

    @property
    def feature_names(self) -> list[str]:
        """Names of the output features (``col`` or ``col=category``), in output order."""
        names: list[str] = []
        for c in self.columns:
            if isinstance(c, NumericColumn):
                names.append(c.name)
            else:
                names.extend(f"{c.name}={v}" for v in c.categories)
        return names

    @property
    def n_features(self) -> int:
        """Width of :meth:`transform`'s output."""
        return sum(1 if isinstance(c, NumericColumn) else len(c.categories) for c in self.columns)

    @property
    def n_classes(self) -> int | None:
        """Number of classes (classification) or ``None``."""
        return None if self.classes_ is None else len(self.classes_)

    # ------------------------------------------------------------- transform
    def transform(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Map features to a float64 array ``(n, n_features)``.

        ``X`` is a DataFrame with (at least) the fitted input columns; extra
        columns, including the target, are ignored. A 2-D array is accepted when
        its width equals the number of input columns (taken in fitted order).

        Raises:
            CaviarError: missing columns, NaN/inf values, or a numeric column whose
                values are no longer numeric.
        """
        self._check_fitted()
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
        X = X.rename(columns=str)[self.input_columns]
        check_features(X)
        out = np.zeros((len(X), self.n_features), dtype=np.float64)
        j = 0
        for spec in self.columns:
            col = X[spec.name]
            if isinstance(spec, NumericColumn):
                if not (is_numeric_target(col) or pd.api.types.is_bool_dtype(col.dtype)):
                    raise CaviarError(
                        f"feature '{spec.name}' must be numeric (as when fitting); "
                        f"got dtype {col.dtype}"
                    )
                out[:, j] = (col.to_numpy(dtype=np.float64) - spec.mean) / spec.std
                j += 1
            else:
                k = len(spec.categories)
                codes = pd.Index(list(spec.categories), dtype=object).get_indexer(
                    pd.Index(object_values(col), dtype=object)
                )
                rows = np.flatnonzero(codes >= 0)
                out[rows, j + codes[rows]] = 1.0
                j += k
        return out

    # ---------------------------------------------------------------- labels
    def encode_labels(self, y: Any) -> np.ndarray:
        """Classification: labels -> int64 codes into ``classes_``; regression: float64 values.

        Raises:
            CaviarError: missing values, a label not seen when fitting, or a
                non-numeric / infinite regression target.
        """
        self._check_fitted()
        s = as_target_series(y)
        name = self.target or s.name
        n_missing = int(s.isna().sum())
        if n_missing:
            raise CaviarError(
                f"target '{name}' has {plural(n_missing, 'missing value')} (NaN); "
                "drop those rows first"
            )
        if self.task == "regression":
            if not is_numeric_target(s):
                raise CaviarError(
                    f"target '{name}' is not numeric (dtype {s.dtype}); regression needs numbers"
                )
            values = s.to_numpy(dtype=np.float64)
            if np.isinf(values).any():
                raise CaviarError(f"target '{name}' has infinite values")
            return values
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
        """Map int codes back to the original labels (original dtype); regression: float64."""
        self._check_fitted()
        arr = np.asarray(codes)
        if self.task == "regression":
            return arr.astype(np.float64)
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

    # ------------------------------------------------------------------- json
    def to_json(self) -> dict[str, Any]:
        """A JSON-serializable dict that :meth:`from_json` turns back into this preprocessor."""
        self._check_fitted()
        features: list[dict[str, Any]] = []
        for c in self.columns:
            if isinstance(c, NumericColumn):
                features.append({"name": c.name, "kind": "numeric", "mean": c.mean, "std": c.std})
            else:
                features.append(
                    {"name": c.name, "kind": "categorical", "categories": list(c.categories)}
                )
        return {
            "format": JSON_FORMAT,
            "version": JSON_VERSION,
            "task": self.task,
            "target": self.target,
            "features": features,
            "classes": None if self.classes_ is None else list(self.classes_),
            "label_dtype": self.label_dtype,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Preprocessor:
        """Rebuild a fitted preprocessor from :meth:`to_json` output.

        Raises:
            CaviarError: the dict is not a preprocessor description of this version.
        """
        if not isinstance(data, dict) or data.get("format") != JSON_FORMAT:
            raise CaviarError(f"invalid preprocessor JSON: expected format '{JSON_FORMAT}'")
        if data.get("version") != JSON_VERSION:
            raise CaviarError(
                f"unsupported preprocessor JSON version {data.get('version')!r} "
                f"(this caviar reads version {JSON_VERSION})"
            )
        try:
            pre = cls(data["task"], target=data["target"])
            columns: list[NumericColumn | CategoricalColumn] = []
            for f in data["features"]:
                if f["kind"] == "numeric":
                    columns.append(NumericColumn(str(f["name"]), float(f["mean"]), float(f["std"])))
                elif f["kind"] == "categorical":
                    columns.append(CategoricalColumn(str(f["name"]), tuple(f["categories"])))
                else:
                    raise ValueError(f"unknown feature kind {f['kind']!r}")
            pre.columns = columns
            classes = data["classes"]
            pre.classes_ = None if classes is None else list(classes)
            pre.label_dtype = str(data["label_dtype"])
            np.dtype(pre.label_dtype)
        except (KeyError, TypeError, ValueError) as exc:
            raise CaviarError(f"invalid preprocessor JSON: {type(exc).__name__} {exc}") from exc
        pre.fitted = True
        return pre

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
