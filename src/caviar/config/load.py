"""Reading and validating configuration files and dictionaries.

Every problem becomes a one-line :class:`~caviar.errors.CaviarError` naming the
file, the field path and what is wrong.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from caviar.config.grid import expand_grid, find_axes
from caviar.config.schema import RunConfig
from caviar.errors import CaviarError

MAX_GRID = 100_000

_factory_folders: list[str] = []


def factory_folders() -> list[str]:
    """The folders of the config files read in this process that name a ``model.factory``
    (where :func:`caviar.nn.factory.resolve` looks for its module after ``sys.path``)."""
    return list(_factory_folders)


def format_validation_error(err: ValidationError, where: str = "config") -> str:
    """One line naming the first invalid field, its value and the reason."""
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    msg = first["msg"]
    if first["type"] == "extra_forbidden":
        return f"{where}: unknown field '{loc}'"
    if first["type"] == "missing":
        return f"{where}: missing required field '{loc}'"
    extra = f" (and {len(err.errors()) - 1} more)" if len(err.errors()) > 1 else ""
    if first["type"] == "value_error":
        return f"{where}: {loc}: {msg.removeprefix('Value error, ')}{extra}"
    value = first.get("input")
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return f"{where}: {loc}: {msg}, got {shown}{extra}"


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file into a dict, with one-line errors. A file naming a
    ``model.factory`` makes its folder a place to look for that module
    (:func:`factory_folders`)."""
    p = Path(path)
    if not p.is_file():
        raise CaviarError(f"config file not found: {p}")
    try:
        with p.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as e:
        raise CaviarError(f"{p}: invalid TOML: {str(e).splitlines()[0]}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise CaviarError(f"{p}: cannot read config: {e}") from None
    model = raw.get("model")
    folder = str(p.resolve().parent)
    if isinstance(model, dict) and model.get("factory") and folder not in _factory_folders:
        _factory_folders.append(folder)
    return raw


def validate_config(raw: dict[str, Any], where: str = "config") -> RunConfig:
    """One concrete configuration dict -> :class:`RunConfig`."""
    try:
        return RunConfig.model_validate(raw)
    except ValidationError as e:
        raise CaviarError(format_validation_error(e, where)) from None


def expand_configs(raw: dict[str, Any], where: str = "config") -> list[RunConfig]:
    """All configurations a (possibly grid) config dict lists, validated."""
    if not isinstance(raw, dict):
        raise CaviarError(f"{where}: expected a table of sections, got {type(raw).__name__}")
    size = 1
    for values in find_axes(raw).values():
        if not values:
            raise CaviarError(f"{where}: a field has an empty list of values")
        size *= len(values)
    if size > MAX_GRID:
        raise CaviarError(f"{where}: grid has {size} configurations (more than {MAX_GRID})")
    return [validate_config(c, where) for c in expand_grid(raw)]


def load_configs(path: str | Path) -> list[RunConfig]:
    """Read a TOML config file and expand its grid."""
    return expand_configs(read_toml(path), where=str(path))
