"""Checks shared by every config section: no booleans where numbers are expected, and
seeds in the range every random generator accepts.

Pydantic's lax mode reads ``true`` as ``1`` for an ``int`` or ``float`` field, so
``lr = true`` would silently train with a learning rate of 1. A section's
``before`` validator refuses a boolean (or a list holding one) for any field whose type
does not itself admit ``bool``.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import Field

SEED_LIMIT = 2**32  # numpy's SeedSequence, torch and the counter-based hash take [0, 2^32)


def seed_field(default: int = 0, description: str = "a seed") -> Any:
    """A pydantic field for a seed: an integer in ``[0, 2^32)``."""
    return Field(default=default, ge=0, lt=SEED_LIMIT, description=description)


def admits_bool(annotation: Any) -> bool:
    """Whether a field of type ``annotation`` may hold ``True``/``False`` (``bool``,
    ``Any``, ``Literal[True]``, or a union/list of such)."""
    if annotation is bool or annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return any(isinstance(a, bool) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return any(admits_bool(a) for a in typing.get_args(annotation))
    return False


def admits_number(annotation: Any) -> bool:
    """Whether ``annotation`` (or a member of its union, or its list items) is a number."""
    if annotation in (int, float):
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, tuple):
        return any(admits_number(a) for a in typing.get_args(annotation))
    return False


def refuse_bool_numbers(model_cls: Any, name: str, value: Any) -> None:
    """Raise ``ValueError`` when ``value`` (or an item of a list value) is a boolean and
    field ``name`` of ``model_cls`` expects a number and no boolean."""
    field = model_cls.model_fields.get(name)
    if field is None:
        return
    items = value if isinstance(value, list) else [value]
    if any(isinstance(v, bool) for v in items):
        ann = field.annotation
        inner = typing.get_args(ann) if typing.get_origin(ann) is list else ()
        if admits_number(ann) and not admits_bool(ann) and not any(map(admits_bool, inner)):
            raise ValueError(f"expected a number, got a boolean ({value!r})")
