"""Which fields ``caviar set`` may change in a running population, and the check of a
value before it is queued (no torch: ``caviar set`` answers at once).

A field can change during training when it is a per-member continuous knob
(:data:`~caviar.config.schema.PER_MEMBER_FIELDS`) the trainer holds as a ``(P,)``
tensor: the optimizer's, loss's, penalty's and schedule's numbers, the regularization
rates (:data:`REGULARIZE_FIELDS`) and ``train.stop_loss``. A value must be a finite
number inside the field's schema bounds (``optimizer.lr >= 0``, ...); a running
population also lists the knobs it holds (the first progress line of each population
carries ``knobs``), and a path outside that list is refused.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from caviar.config.schema import PER_MEMBER_FIELDS, RunConfig
from caviar.errors import CaviarError

# the trainer's regularization tensor -> its config path
REGULARIZE_FIELDS = {
    "dropout": "model.dropout",
    "input_dropout": "model.input_dropout",
    "bn_momentum": "model.bn_momentum",
    "weight_noise": "noise.weight",
    "input_noise": "noise.input",
    "interpolate": "augment.interpolate",
    "shift": "augment.shift",
    "rotate": "augment.rotate",
    "scale": "augment.scale",
}
SETTABLE_GROUPS = ("optimizer", "loss", "penalty", "schedule")
OTHER = {path: ("regularize", name) for name, path in REGULARIZE_FIELDS.items()}
OTHER["train.stop_loss"] = ("extra", "stop_loss")


def knob_of(path: str) -> tuple[str, str]:
    """``(group, name)`` of ``trainer.set_hyper`` for a config path (CaviarError if the
    field cannot change during training)."""
    if path in OTHER:
        return OTHER[path]
    section, _, name = path.partition(".")
    if section in SETTABLE_GROUPS and name and path in PER_MEMBER_FIELDS:
        return section, name
    raise CaviarError(
        f"'{path}' cannot change during training (continuous optimizer, loss, penalty, "
        "schedule, regularization fields and train.stop_loss can)"
    )


def path_of(group: str, name: str) -> str:
    """The config path of the trainer's knob ``(group, name)`` (inverse of :func:`knob_of`)."""
    if group == "regularize":
        return REGULARIZE_FIELDS[name]
    if group == "extra":
        return f"train.{name}"
    return f"{group}.{name}"


def check_settable(path: str, value: Any, knobs: Collection[str] | None = None) -> float:
    """A ``caviar set`` argument's value as a float, checked against the field's schema
    bounds and, when given, the ``knobs`` the running population holds (CaviarError)."""
    knob_of(path)
    if knobs is not None and path not in knobs:
        shown = ", ".join(sorted(knobs)) or "none"
        raise CaviarError(f"set {path}: this population has no per-member {path} (it has: {shown})")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise CaviarError(f"set {path}: '{value}' is not a number") from None
    if not math.isfinite(v):
        raise CaviarError(f"set {path}: '{value}' is not a finite number")
    section, _, name = path.partition(".")
    try:
        section_model = cast(type[BaseModel], RunConfig.model_fields[section].annotation)
        section_model.model_validate({name: v})
    except ValidationError as e:
        reason = e.errors()[0]["msg"].removeprefix("Value error, ")
        raise CaviarError(f"set {path}: {reason}, got {value}") from None
    return v
