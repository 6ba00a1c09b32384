"""Expanding a config with lists of values into the configurations it lists.

A field given a list of values where the schema expects one value becomes a grid axis; the
configurations are the Cartesian product of all axes (:ref:`bg-search-strategies`).
``model.hidden`` expects a list, so its grid is a list of lists: ``hidden = [[64], [128,
64]]``.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

LIST_FIELDS = frozenset({"model.hidden", "model.channels", "data.shape"})


def _is_axis(path: str, value: Any) -> bool:
    if not isinstance(value, list):
        return False
    if path in LIST_FIELDS:
        return bool(value) and all(isinstance(v, list) for v in value)
    return True


def find_axes(raw: dict[str, Any], prefix: str = "") -> dict[str, list[Any]]:
    """Dotted paths of the grid axes in ``raw`` and their values."""
    axes: dict[str, list[Any]] = {}
    for key, value in raw.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            axes.update(find_axes(value, f"{path}."))
        elif _is_axis(path, value):
            axes[path] = value
    return axes


def set_path(raw: dict[str, Any], path: str, value: Any) -> None:
    """Set ``raw['a']['b'] = value`` for ``path = 'a.b'``, creating sections."""
    *sections, leaf = path.split(".")
    node = raw
    for s in sections:
        node = node.setdefault(s, {})
    node[leaf] = value


def get_path(raw: dict[str, Any], path: str, default: Any = None) -> Any:
    """``raw['a']['b']`` for ``path = 'a.b'``, or ``default`` where a part is missing."""
    node: Any = raw
    for s in path.split("."):
        if not isinstance(node, dict) or s not in node:
            return default
        node = node[s]
    return node


def expand_grid(raw: dict[str, Any]) -> list[dict[str, Any]]:
    """All configurations of the grid in ``raw`` (one if it has no axes).

    Examples
    --------
    >>> grid = expand_grid({"optimizer": {"lr": [1e-3, 1e-2]}, "train": {"seed": [0, 1, 2]}})
    >>> len(grid), grid[0]
    (6, {'optimizer': {'lr': 0.001}, 'train': {'seed': 0}})
    >>> len(expand_grid({"model": {"hidden": [[64], [128, 64]]}}))  # a list field: list of lists
    2
    """
    axes = find_axes(raw)
    if not axes:
        return [copy.deepcopy(raw)]
    out = []
    for combo in itertools.product(*axes.values()):
        cfg = copy.deepcopy(raw)
        for path, value in zip(axes, combo, strict=True):
            set_path(cfg, path, value)
        out.append(cfg)
    return out
