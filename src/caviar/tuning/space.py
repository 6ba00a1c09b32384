"""The search space: one dimension per config field, sampled in its transformed space.

Sampling on the right scale (:ref:`bg-search-scales`): a learning rate is drawn as
``r ~ U[a, b]``, ``alpha = 10^r``; a momentum-like ``beta`` as ``r ~ U[a, b]``,
``beta = 1 - 10^r``. Each dimension therefore has a *transformed* coordinate
``t`` in which it is sampled uniformly (and in which coarse-to-fine shrinks and
grids are evenly spaced):

=========================  ==========================  ====================
spec                       transformed coordinate t    value
=========================  ==========================  ====================
``uniform = [lo, hi]``     t = v                       v = t
``log_uniform``            t = log10 v                 v = 10^t
``one_minus_log_uniform``  t = log10(1 - v)            v = 1 - 10^t
``int_uniform``            t = v                       v = round(t)
``int_log_uniform``        t = log10 v                 v = round(10^t)
``choice = [a, b, ...]``   t = index                   v = choices[t]
=========================  ==========================  ====================

The space lives in the ``[search.space]`` table of a config file, mapping dotted
field paths to one spec each, e.g. ``"optimizer.lr" = { log_uniform = [1e-4, 1e-1] }``.
Every path is validated against :class:`~caviar.config.RunConfig` up front.
``"model.hidden" = { funnel = {...} }`` is three dimensions (:mod:`caviar.tuning.funnel`).
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from caviar.config import PER_MEMBER_FIELDS, RunConfig, set_path, validate_config
from caviar.errors import CaviarError
from caviar.tuning.funnel import SEP, combine_funnels, extreme_funnels, funnel_specs, is_funnel

KINDS = (
    "uniform",
    "log_uniform",
    "one_minus_log_uniform",
    "int_uniform",
    "int_log_uniform",
    "choice",
)


@dataclass(frozen=True)
class Dimension:
    """One searched field: its path, kind and bounds (or choices)."""

    path: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    choices: tuple = ()

    # -- the transformed coordinate --------------------------------------------------
    @property
    def categorical(self) -> bool:
        return self.kind == "choice"

    @property
    def integer(self) -> bool:
        return self.kind.startswith("int_")

    @property
    def per_member(self) -> bool:
        """Continuous per-member field (members of one population may differ in it)."""
        return self.path in PER_MEMBER_FIELDS and not self.categorical

    @property
    def bounds(self) -> tuple[float, float]:
        """``(t_low, t_high)`` of the transformed coordinate (ascending)."""
        if self.categorical:
            return 0.0, float(len(self.choices) - 1)
        if self.kind == "one_minus_log_uniform":
            return math.log10(1.0 - self.high), math.log10(1.0 - self.low)
        return self.to_t(self.low), self.to_t(self.high)

    def to_t(self, value: Any) -> float:
        """Value -> transformed coordinate."""
        if self.categorical:
            return float(_index(self.choices, value))
        if self.kind in ("log_uniform", "int_log_uniform"):
            return math.log10(float(value))
        if self.kind == "one_minus_log_uniform":
            return math.log10(1.0 - float(value))
        return float(value)

    def from_t(self, t: float) -> Any:
        """Transformed coordinate -> value (clipped into the bounds)."""
        lo, hi = self.bounds
        t = min(max(float(t), lo), hi)
        if self.categorical:
            return copy.deepcopy(self.choices[int(round(t))])
        if self.kind == "log_uniform":
            return min(max(10.0**t, self.low), self.high)
        if self.kind == "one_minus_log_uniform":
            return min(max(1.0 - 10.0**t, self.low), self.high)
        if self.kind == "int_uniform":
            return int(min(max(round(t), self.low), self.high))
        if self.kind == "int_log_uniform":
            return int(min(max(round(10.0**t), self.low), self.high))
        return min(max(t, self.low), self.high)

    # -- sampling --------------------------------------------------------------------
    def sample(self, rng: np.random.Generator, lo: float | None = None, hi: float | None = None):
        """One value, uniform in the transformed coordinate over ``[lo, hi]`` (default: all)."""
        b_lo, b_hi = self.bounds
        lo = b_lo if lo is None else max(lo, b_lo)
        hi = b_hi if hi is None else min(hi, b_hi)
        if self.categorical:
            return copy.deepcopy(self.choices[int(rng.integers(int(lo), int(hi) + 1))])
        if self.integer:
            # uniform over the integers whose coordinate lies in [lo, hi]
            ints = self.grid_values(None, lo, hi)
            return ints[int(rng.integers(len(ints)))]
        return self.from_t(rng.uniform(lo, hi))

    def grid_values(self, n: int | None, lo: float | None = None, hi: float | None = None) -> list:
        """``n`` values evenly spaced in the transformed coordinate; all choices; or all
        integers of the range when ``n`` is None (or there are at most ``n``)."""
        b_lo, b_hi = self.bounds
        lo = b_lo if lo is None else lo
        hi = b_hi if hi is None else hi
        if self.categorical:
            return [copy.deepcopy(c) for c in self.choices]
        if self.integer:
            ints = range(int(self.low), int(self.high) + 1)
            inside = [i for i in ints if lo - 1e-12 <= self.to_t(i) <= hi + 1e-12]
            inside = inside or [self.from_t((lo + hi) / 2)]
            if n is None or len(inside) <= n:
                return inside
            picks = np.linspace(0, len(inside) - 1, n).round().astype(int)
            return sorted({inside[i] for i in picks})
        if n == 1:
            return [self.from_t((lo + hi) / 2)]
        return [self.from_t(t) for t in np.linspace(lo, hi, n or 3)]


def _index(choices: tuple, value: Any) -> int:
    for i, c in enumerate(choices):
        if c == value:
            return i
    raise ValueError(f"{value!r} is not one of the choices")


@dataclass(frozen=True)
class SearchSpace:
    """The dimensions of a search, in file order."""

    dimensions: tuple[Dimension, ...]

    @property
    def paths(self) -> list[str]:
        return [d.path for d in self.dimensions]

    def __len__(self) -> int:
        return len(self.dimensions)

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        return {d.path: d.sample(rng) for d in self.dimensions}

    def to_t(self, params: dict[str, Any]) -> np.ndarray:
        """Transformed coordinates of one parameter set (in dimension order)."""
        return np.array([d.to_t(params[d.path]) for d in self.dimensions], dtype=float)

    def apply(self, base: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """A copy of the config dict ``base`` with ``params`` set at their paths."""
        out = copy.deepcopy(base)
        for path, value in combine_funnels(params).items():
            set_path(out, path, copy.deepcopy(value))
        return out


def parse_dimension(path: str, spec: Any) -> Dimension:
    """One ``[search.space]`` entry -> :class:`Dimension`, with one-line errors.

    Examples
    --------
    >>> d = parse_dimension("optimizer.lr", {"log_uniform": [1e-4, 1e-1]})
    >>> d.bounds, d.from_t(-2.0)           # sampled as t ~ U[-4, -1], lr = 10^t
    ((-4.0, -1.0), 0.01)
    >>> parse_dimension("optimizer.lr", {"log_uniform": [0.1, 1e-4]})
    Traceback (most recent call last):
    caviar.errors.CaviarError: search.space 'optimizer.lr': low 0.1 > high 0.0001
    """
    where = f"search.space '{path}'"
    if not isinstance(spec, dict) or len(spec) != 1:
        raise CaviarError(f"{where}: expected one of {{{', '.join(KINDS)}}} = [...], got {spec!r}")
    ((kind, args),) = spec.items()
    if kind not in KINDS:
        raise CaviarError(
            f"{where}: unknown dimension type '{kind}' (choose from: {', '.join(KINDS)})"
        )
    if kind == "choice":
        if not isinstance(args, list) or not args:
            raise CaviarError(f"{where}: choice needs a non-empty list of values")
        return Dimension(path, kind, choices=tuple(args))
    if (
        not isinstance(args, list)
        or len(args) != 2
        or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args)
    ):
        raise CaviarError(f"{where}: {kind} needs [low, high] numbers, got {args!r}")
    low, high = float(args[0]), float(args[1])
    if not (math.isfinite(low) and math.isfinite(high)):
        raise CaviarError(f"{where}: bounds must be finite, got [{low:g}, {high:g}]")
    if low > high:
        raise CaviarError(f"{where}: low {low:g} > high {high:g}")
    if kind in ("log_uniform", "int_log_uniform") and low <= 0:
        raise CaviarError(
            f"{where}: {kind} needs positive bounds (log of {low:g}), got low {low:g}"
        )
    if kind == "one_minus_log_uniform" and not (0 < low and high < 1):
        raise CaviarError(
            f"{where}: one_minus_log_uniform needs 0 < low <= high < 1 "
            f"(log of 1 - value), got [{low:g}, {high:g}]"
        )
    if kind.startswith("int_") and (low != int(low) or high != int(high)):
        raise CaviarError(f"{where}: {kind} needs integer bounds, got [{low:g}, {high:g}]")
    return Dimension(path, kind, low, high)


def parse_space(table: Any, base: dict[str, Any]) -> SearchSpace:
    """Parse and validate ``[search.space]`` against the schema.

    Every path must name a field of :class:`RunConfig` and every bound/choice must
    make a valid configuration when set into ``base`` (the config without its
    ``[search]`` section).
    """
    if not isinstance(table, dict) or not table:
        raise CaviarError("search.space: expected a table of 'field.path' = { kind = [...] }")
    dims: list[Dimension] = []
    funnels: list[tuple[str, list[int]]] = []
    for path, spec in table.items():
        if is_funnel(spec):  # bg-network-design: three dimensions (tuning/funnel.py)
            parts = funnel_specs(path, spec)
            dims.extend(parse_dimension(p, s) for p, s in parts.items())
            funnels += [(path, widths) for widths in extreme_funnels(parts)]
        else:
            dims.append(parse_dimension(path, spec))
    for path, widths in funnels:
        cfg = copy.deepcopy(base)
        set_path(cfg, path, widths)
        validate_config(cfg, where=f"search.space '{path}' = {widths!r}")
    for d in dims:
        if SEP in d.path:
            continue
        _check_path(d.path, base)
        values = list(d.choices) if d.categorical else [d.from_t(t) for t in d.bounds]
        for v in values:
            cfg = copy.deepcopy(base)
            set_path(cfg, d.path, v)
            validate_config(cfg, where=f"search.space '{d.path}' = {v!r}")
    return SearchSpace(tuple(dims))


def _check_path(path: str, base: dict[str, Any] | None = None) -> None:
    """Raise unless ``path`` names a schema field (or, for ``model.kind = "module"``, any
    ``model.*`` key: the user's factory reads its own structural knobs)."""
    parts = path.split(".")
    if len(parts) != 2:
        raise CaviarError(f"search.space: unknown field path '{path}' (expected 'section.field')")
    section, name = parts
    field = RunConfig.model_fields.get(section)
    if field is None or section == "data":
        raise CaviarError(f"search.space: unknown field path '{path}'")
    module = section == "model" and (base or {}).get("model", {}).get("kind") == "module"
    if name not in field.annotation.model_fields and not module:  # type: ignore[union-attr]
        raise CaviarError(f"search.space: unknown field path '{path}'")
