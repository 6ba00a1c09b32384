"""JSON that other tools can read: NaN/inf become null, numpy values plain Python."""

from __future__ import annotations

import json
import math
from typing import Any


def json_safe(value: Any) -> Any:
    """Replace NaN/inf by None and numpy scalars/arrays by Python values, recursively."""
    kind = type(value)  # the plain Python types first: most values of a record are these
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is int or kind is str or kind is bool or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return json_safe(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def dumps(value: Any, indent: int | None = 2) -> str:
    """Strict JSON text of ``value`` (see :func:`json_safe`)."""
    return json.dumps(json_safe(value), indent=indent, allow_nan=False)
