"""Hyperparameter validation rules of the population optimizers.

A :data:`Rule` is ``(predicate on a (P,) tensor, phrase)``: an optimizer class maps
each hyperparameter to one (``hyper_rules``); :func:`check_hypers` checks every
member's values against it (and that they are finite) and raises a one-line
:class:`~caviar.errors.CaviarError` naming the first bad value, with the member
only when the members' values differ.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

import torch

from caviar.errors import CaviarError

Rule = tuple[Callable[[torch.Tensor], torch.Tensor], str]

NON_NEGATIVE: Rule = (lambda v: v >= 0, "must be >= 0")
POSITIVE: Rule = (lambda v: v > 0, "must be > 0")
UNIT_INTERVAL: Rule = (lambda v: (v >= 0) & (v < 1), "must be in [0, 1)")
CLOSED_UNIT_INTERVAL: Rule = (lambda v: (v >= 0) & (v <= 1), "must be in [0, 1]")

#: how an error names a hyperparameter (default: its name)
HYPER_LABELS = {
    "lr": "learning rate (lr)",
    "eps": "eps",
    "weight_decay": "weight_decay",
}


def check_hypers(
    optimizer: str, hypers: Mapping[str, torch.Tensor], rules: Mapping[str, Rule], size: int
) -> None:
    """Raise :class:`CaviarError` on the first hyperparameter of ``hypers`` that is not a
    ``(size,)`` tensor of finite values obeying its rule in ``rules`` (``optimizer``:
    the name the error starts with)."""
    for hname, t in hypers.items():
        label = HYPER_LABELS.get(hname, hname)
        if t.shape != (size,):
            raise CaviarError(
                f"{optimizer}: {hname} must have shape ({size},), got {tuple(t.shape)}"
            )
        bad = ~torch.isfinite(t)
        rule = rules.get(hname)
        if rule is not None:
            bad |= ~rule[0](t)
        if bool(bad.any()):
            i = int(bad.nonzero()[0, 0])
            phrase = (
                rule[1] if rule is not None and math.isfinite(float(t[i])) else "must be finite"
            )
            # Name the member only when the members' values differ.
            where = "" if bool((t == t[i]).all()) else f" (member {i})"
            raise CaviarError(f"{optimizer}: {label} {phrase}, got {float(t[i]):g}{where}")
