"""A curve as one line of block characters, for the terminal (``caviar watch``)."""

from __future__ import annotations

import math

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list, width: int = 60) -> str:
    """One bar per value, scaled from the curve's minimum to its maximum (blank: None or
    not finite); a curve longer than ``width`` is shown at ``width`` evenly spaced epochs
    (the first and the last included)."""
    if len(values) > width:
        n = len(values) - 1
        values = [values[round(k * n / (width - 1))] for k in range(width)]
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return ""
    lo, hi = min(finite), max(finite)
    span = hi - lo or 1.0
    return "".join(
        " " if v is None or not math.isfinite(v) else BARS[int((v - lo) / span * 7)] for v in values
    )
