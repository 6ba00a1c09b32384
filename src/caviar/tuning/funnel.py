"""Funnel architectures as a search-space helper (:ref:`bg-network-design`:
hidden layers that narrow down toward the output).

    "model.hidden" = { funnel = { first = [64, 512], layers = [1, 4], shrink = [0.25, 1.0] } }

is three ordinary dimensions of the search, sampled like any other:

* ``model.hidden:first``  -- ``int_log_uniform`` width of the first hidden layer,
* ``model.hidden:layers`` -- ``int_uniform`` number of hidden layers,
* ``model.hidden:shrink`` -- ``uniform`` ratio of consecutive widths,

and a trial's ``model.hidden`` is the funnel they describe (:func:`funnel_widths`):

    width_i = max(1, round(first * shrink^i)),   i = 0 .. layers - 1

so ``first = 256, layers = 3, shrink = 0.5`` gives ``[256, 128, 64]`` (``shrink = 1``:
equal widths). A bound pair with ``low == high`` fixes that part. The funnel is
structural (members of one population share it), as ``model.hidden`` is.
"""

from __future__ import annotations

from typing import Any

from caviar.errors import CaviarError

SEP = ":"
PARTS = {"first": "int_log_uniform", "layers": "int_uniform", "shrink": "uniform"}


def funnel_widths(first: float, layers: float, shrink: float) -> list[int]:
    """``[max(1, round(first * shrink^i)) for i < layers]``."""
    return [max(1, int(round(float(first) * float(shrink) ** i))) for i in range(int(layers))]


def is_funnel(spec: Any) -> bool:
    return isinstance(spec, dict) and len(spec) == 1 and "funnel" in spec


def funnel_specs(path: str, spec: dict) -> dict[str, dict[str, list]]:
    """The three dimension specs (``path:first`` ...) of one funnel entry, checked."""
    where = f"search.space '{path}'"
    if path != "model.hidden":
        raise CaviarError(f"{where}: funnel is for model.hidden only")
    body = spec["funnel"]
    if not isinstance(body, dict) or set(body) != set(PARTS):
        raise CaviarError(f"{where}: funnel needs first, layers and shrink = [low, high]")
    for name, bounds in body.items():
        if not (isinstance(bounds, list) and len(bounds) == 2):
            raise CaviarError(f"{where}: funnel {name} needs [low, high], got {bounds!r}")
    lo, hi = body["shrink"]
    if not (isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and 0 < lo <= hi <= 1):
        raise CaviarError(f"{where}: funnel shrink needs 0 < low <= high <= 1, got {[lo, hi]}")
    if not all(isinstance(v, int) and v >= 1 for v in (*body["first"], *body["layers"])):
        raise CaviarError(f"{where}: funnel first and layers need integers >= 1")
    return {f"{path}{SEP}{name}": {PARTS[name]: list(body[name])} for name in PARTS}


def combine_funnels(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with every funnel's three parts replaced by its widths at the path."""
    parts = [k for k in params if SEP in k]
    if not parts:
        return params
    out = {k: v for k, v in params.items() if SEP not in k}
    for path in {k.split(SEP)[0] for k in parts}:
        try:
            values = [params[f"{path}{SEP}{name}"] for name in PARTS]
        except KeyError as e:
            raise CaviarError(f"search: funnel part {e.args[0]} is missing") from None
        out[path] = funnel_widths(*values)
    return out


def extreme_funnels(specs: dict[str, dict[str, list]]) -> list[list[int]]:
    """The funnels at the corners of the bounds (to validate them up front)."""
    (first, layers, shrink) = (next(iter(s.values())) for s in specs.values())
    return [funnel_widths(f, n, s) for f in first for n in layers for s in shrink]
