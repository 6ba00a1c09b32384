"""The configuration reference, generated from the pydantic schema at build time.

``.. caviar-config-reference::`` (in ``docs/reference/config.md``) expands to one table
per section of :class:`caviar.config.RunConfig` and of the ``[search]`` section
(:class:`caviar.tuning.settings.SearchSettings`): every key with its type, default,
allowed range or values, its description, whether members of one population may differ
in it (*per member*), and whether it may be a grid axis (a list of values) or a search
dimension (``[search.space]``). ``tests/docs/test_config_reference.py`` checks that every
field of the schema is there.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

import annotated_types as at
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

# fields that are set by Caviar itself, never by hand
INTERNAL = {"train.fold"}


@dataclass(frozen=True)
class Key:
    """One documented key of a config file."""

    path: str
    type: str
    default: str
    allowed: str
    description: str
    per_member: bool
    grid: str
    search: str


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is type(None):
        return "none"
    if origin is Literal:
        return "string" if all(isinstance(a, str) for a in args) else "literal"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(_type_name(a) for a in args))
    if origin in (list, tuple):
        inner = _type_name(args[0]) if args else "value"
        return f"list of {inner}"
    if origin is dict:
        return "table"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "table"
    names = {int: "integer", float: "number", str: "string", bool: "boolean"}
    return names.get(tp, getattr(tp, "__name__", str(tp)))


def _literals(tp: Any) -> list[Any]:
    if typing.get_origin(tp) is Literal:
        return list(typing.get_args(tp))
    out: list[Any] = []
    for a in typing.get_args(tp):
        out += _literals(a)
    return out


def _has_number(tp: Any) -> bool:
    if tp in (int, float):
        return True
    return any(_has_number(a) for a in typing.get_args(tp) if typing.get_origin(tp) is not list)


def _allowed(info: Any) -> str:
    """The range (from the field's constraints) or the values (from a Literal)."""
    values = _literals(info.annotation)
    parts = []
    if values:
        parts.append(", ".join(f"``{v!r}``".replace("'", '"') for v in values))
    bounds = {at.Gt: ">", at.Ge: ">=", at.Lt: "<", at.Le: "<="}
    for m in info.metadata:
        for cls, op in bounds.items():
            if isinstance(m, cls):
                name = {"Gt": "gt", "Ge": "ge", "Lt": "lt", "Le": "le"}[cls.__name__]
                parts.append(f"{op} {getattr(m, name)}")
    return "; ".join(parts)


def _default(info: Any) -> str:
    if info.default_factory is not None:
        value = info.default_factory()
        if isinstance(value, BaseModel):
            return "(section)"
        return f"``{value!r}``" if value not in ({}, []) else "empty"
    if info.default is PydanticUndefined:
        return "required"
    if info.default is None:
        return "unset"
    return f"``{info.default!r}``".replace("'", '"')


def _grid_and_search(section: str, path: str, info: Any, run_section: bool) -> tuple[str, str]:
    from caviar.config.grid import LIST_FIELDS

    if not run_section or path in INTERNAL:
        return "no", "no"
    if section == "data":
        return "no (one data set per run)", "no"
    grid = "yes (a list of lists)" if path in LIST_FIELDS else "yes"
    if _has_number(info.annotation) and typing.get_origin(info.annotation) is not list:
        search = "range, choice"
    else:
        search = "choice"
    if path == "model.hidden":
        search = "choice, funnel"
    return grid, search


def section_keys(section: str, model: type[BaseModel], run_section: bool) -> list[Key]:
    """The documented keys of one section (``model`` its pydantic class)."""
    from caviar.config import PER_MEMBER_FIELDS

    keys = []
    for name, info in model.model_fields.items():
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            continue  # a subsection, documented as its own table
        sub = typing.get_args(info.annotation)
        if any(isinstance(a, type) and issubclass(a, BaseModel) for a in sub):
            continue
        path = f"{section}.{name}"
        grid, search = _grid_and_search(section, path, info, run_section)
        desc = (info.description or "").strip()
        if path in INTERNAL:
            desc = f"{desc} (internal: set by Caviar)".strip()
        keys.append(
            Key(path=path, type=_type_name(info.annotation), default=_default(info),
                allowed=_allowed(info), description=desc,
                per_member=path in PER_MEMBER_FIELDS, grid=grid, search=search)
        )
    return keys


def all_sections() -> list[tuple[str, type[BaseModel], bool, str]]:
    """``(table name, pydantic class, is a RunConfig section, summary)`` in page order."""
    from caviar.config import RunConfig
    from caviar.tuning.settings import HalvingSettings, PBTSettings, SearchSettings

    out = []
    for name, info in RunConfig.model_fields.items():
        model = info.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        out.append((name, model, True, _first_line(model.__doc__)))
    out.append(("search", SearchSettings, False, _first_line(SearchSettings.__doc__)))
    out.append(("search.halving", HalvingSettings, False, _first_line(HalvingSettings.__doc__)))
    out.append(("search.pbt", PBTSettings, False, _first_line(PBTSettings.__doc__)))
    return out


def _first_line(doc: str | None) -> str:
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ") or " "


def _short(grid: str) -> str:
    return {"yes": "list", "yes (a list of lists)": "list of lists"}.get(grid, grid.split(" (")[0])


def render_rst() -> str:
    """The whole reference as reStructuredText (tables of ``list-table``)."""
    lines: list[str] = []
    for table, model, run_section, summary in all_sections():
        lines += [f".. _config-{table.replace('.', '-')}:", "", f"``[{table}]``",
                  "-" * (len(table) + 6), ""]
        if summary:
            lines += [summary, ""]
        lines += [".. list-table::", "   :header-rows: 1", "   :widths: 20 9 9 14 30 8 6 6",
                  "   :class: caviar-config", "",
                  "   * - key", "     - type", "     - default", "     - allowed",
                  "     - description", "     - varies", "     - grid", "     - search"]
        for k in section_keys(table, model, run_section):
            varies = "per member" if k.per_member else "structural" if run_section else ""
            lines += [f"   * - ``{k.path}``", f"     - {_cell(k.type)}",
                      f"     - {_cell(k.default)}", f"     - {_cell(k.allowed)}",
                      f"     - {_cell(k.description)}", f"     - {_cell(varies)}",
                      f"     - {_cell(_short(k.grid))}", f"     - {_cell(k.search)}"]
        lines.append("")
    return "\n".join(lines)


def setup(app: Any) -> dict[str, Any]:
    from docutils.statemachine import StringList
    from sphinx.util.docutils import SphinxDirective

    class ConfigReference(SphinxDirective):
        has_content = False

        def run(self) -> list[Any]:
            from docutils import nodes
            from sphinx.util.nodes import nested_parse_with_titles

            container = nodes.section()
            container.document = self.state.document
            nested_parse_with_titles(
                self.state, StringList(render_rst().splitlines(), "<config>"), container
            )
            return list(container.children)

    app.add_directive("caviar-config-reference", ConfigReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
