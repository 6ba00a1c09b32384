"""Configurations of a user's module: ``caviar.train(config, module=factory)``.

Passing ``module=factory`` from Python is the same as writing ``model.kind = "module"``
and ``model.factory = "<the factory's import path>"`` in every configuration; the factory
is also registered in this process (:func:`caviar.nn.factory.register`), so a function
defined in a script or notebook works here even if it cannot be imported by path.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from caviar.config.load import read_toml
from caviar.config.schema import RunConfig
from caviar.errors import CaviarError


def with_factory(config: Any, path: str) -> Any:
    """``config`` (a dict, TOML path, RunConfig or a list of those) with every
    ``[model]`` section set to ``kind = "module"``, ``factory = path``."""
    if isinstance(config, list):
        return [with_factory(c, path) for c in config]
    if isinstance(config, (str, Path)):
        config = read_toml(config)
    if isinstance(config, RunConfig):
        config = config.model_dump(mode="json")
    if not isinstance(config, dict):
        raise CaviarError(f"cannot use a {type(config).__name__} as a configuration")
    out = copy.deepcopy(config)
    model = out.setdefault("model", {})
    if not isinstance(model, dict):
        raise CaviarError("config: [model] must be a table")
    kind = model.get("kind", "module")
    if kind != "module":
        raise CaviarError(f"module= was given, but the config sets model.kind = '{kind}'")
    model["kind"], model["factory"] = "module", path
    return out
