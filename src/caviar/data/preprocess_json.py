"""A fitted :class:`~caviar.data.preprocess.Preprocessor` as plain JSON and back
(format ``caviar.preprocessor``; the fields are listed in that module's docstring).

Labels and categories keep their Python type (int, float, str, bool; a missing level
is ``null``) through ``json.dumps``/``json.loads`` and floats round-trip exactly, so
:func:`preprocessor_from_json` rebuilds an identical preprocessor. Version 1 files
(before imputation and pooled levels) read as version 2 without gaps or pooling.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np

from caviar.data.columns import CategoricalColumn, NumericColumn
from caviar.data.options import TableOptions
from caviar.errors import CaviarError

JSON_FORMAT = "caviar.preprocessor"
JSON_VERSION = 2
READABLE_VERSIONS = (1, 2)


def _feature(c: NumericColumn | CategoricalColumn) -> dict[str, Any]:
    if isinstance(c, NumericColumn):
        return {
            "name": c.name,
            "kind": "numeric",
            "mean": c.mean,
            "std": c.std,
            "fill": c.fill,
            "indicator": c.indicator,
        }
    return {
        "name": c.name,
        "kind": "categorical",
        "categories": list(c.categories),
        "other": c.other,
        "pooled": list(c.pooled),
    }


def preprocessor_to_json(pre) -> dict[str, Any]:
    """The JSON description of a fitted preprocessor."""
    options = {f.name: getattr(pre.options, f.name) for f in fields(TableOptions)}
    options["categorical"] = list(options["categorical"])
    return {
        "format": JSON_FORMAT,
        "version": JSON_VERSION,
        "task": pre.task,
        "target": pre.target,
        "features": [_feature(c) for c in pre.columns],
        "classes": None if pre.classes_ is None else list(pre.classes_),
        "label_dtype": pre.label_dtype,
        "options": options,
        "target_mean": pre.target_mean,
        "target_std": pre.target_std,
    }


def _column(f: dict[str, Any]) -> NumericColumn | CategoricalColumn:
    if f["kind"] == "numeric":
        fill = f.get("fill")
        return NumericColumn(
            str(f["name"]),
            float(f["mean"]),
            float(f["std"]),
            None if fill is None else float(fill),
            bool(f.get("indicator", False)),
        )
    if f["kind"] == "categorical":
        return CategoricalColumn(
            str(f["name"]),
            tuple(f["categories"]),
            bool(f.get("other", False)),
            tuple(f.get("pooled", ())),
        )
    raise ValueError(f"unknown feature kind {f['kind']!r}")


def preprocessor_from_json(cls, data: dict[str, Any]):
    """Rebuild a fitted ``cls`` (a Preprocessor class) from :func:`preprocessor_to_json`."""
    if not isinstance(data, dict) or data.get("format") != JSON_FORMAT:
        raise CaviarError(f"invalid preprocessor JSON: expected format '{JSON_FORMAT}'")
    if data.get("version") not in READABLE_VERSIONS:
        raise CaviarError(
            f"unsupported preprocessor JSON version {data.get('version')!r} "
            f"(this caviar reads versions {', '.join(map(str, READABLE_VERSIONS))})"
        )
    try:
        options = data.get("options") or {}
        if options:
            options = {**options, "categorical": tuple(options.get("categorical", ()))}
        pre = cls(data["task"], target=data["target"], options=TableOptions(**options))
        pre.columns = [_column(f) for f in data["features"]]
        classes = data["classes"]
        pre.classes_ = None if classes is None else list(classes)
        pre.label_dtype = str(data["label_dtype"])
        np.dtype(pre.label_dtype)
        mean, std = data.get("target_mean"), data.get("target_std")
        pre.target_mean = None if mean is None else float(mean)
        pre.target_std = None if std is None else float(std)
    except (KeyError, TypeError, ValueError) as exc:
        raise CaviarError(f"invalid preprocessor JSON: {type(exc).__name__} {exc}") from exc
    pre.fitted = True
    return pre
