"""Checks of the Python API's arguments (:func:`caviar.train`, :func:`caviar.tune`): a
wrong type is a one-line :class:`~caviar.errors.CaviarError` naming the parameter,
raised before anything is trained or written (not an ``AttributeError`` from deep
inside a run)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from caviar.errors import CaviarError

HOOKS = ("on_epoch_end", "on_population_end", "on_trial_complete")
CHANGE_KEYS = ("epoch", "member", "path", "new")


def check_path(name: str, value: Any) -> Path | None:
    """``value`` as a Path (None stays None); a non-path is refused, naming ``name``."""
    if value is None:
        return None
    if isinstance(value, (str, os.PathLike)) and not isinstance(value, bytes):
        return Path(value)
    raise CaviarError(f"{name} must be a path (str or pathlib.Path), got {type(value).__name__}")


def check_prepared(data: Any) -> None:
    """``data`` must be None or prepared splits (a ``PreparedData``)."""
    from caviar.data import PreparedData

    if data is None or isinstance(data, PreparedData):
        return
    hint = (
        " (for arrays X, y: data=caviar.data.prepare_arrays(X, y))"
        if isinstance(data, (tuple, list))
        else ""
    )
    raise CaviarError(
        "data must be prepared splits (caviar.data.prepare_data or prepare_arrays), "
        f"got {type(data).__name__}{hint}"
    )


def _items(name: str, value: Any) -> list:
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Sequence):
        raise CaviarError(f"{name} must be a list, got {type(value).__name__}")
    return list(value)


def check_train_callbacks(callbacks: Any) -> list:
    """Each item a :class:`~caviar.training.hooks.Hook`, a Keras-style
    :class:`~caviar.training.callbacks.Callback` or an object with all of its hooks
    (``on_epoch_end``, ``on_population_end``, ``on_trial_complete``)."""
    from caviar.training.callbacks import Callback
    from caviar.training.hooks import Hook

    items = _items("callbacks", callbacks)
    for i, cb in enumerate(items):
        missing = [h for h in HOOKS if not callable(getattr(cb, h, None))]
        if not isinstance(cb, (Callback, Hook)) and missing:
            raise CaviarError(
                f"callbacks[{i}]: a {type(cb).__name__} is no caviar.training.hooks.Hook "
                f"nor caviar.training.callbacks.Callback (it has no {', '.join(missing)})"
            )
    return items


def check_changes(changes: Any) -> list[dict] | None:
    """``changes`` as recorded by a run: a list of ``{"epoch", "member", "path", "new"}``
    dicts (epoch and member integers, path a string, new a number)."""
    if changes is None:
        return None
    items = _items("changes", changes)
    for i, c in enumerate(items):
        if not isinstance(c, dict) or any(k not in c for k in CHANGE_KEYS):
            raise CaviarError(
                f"changes[{i}] must be a dict with keys {', '.join(CHANGE_KEYS)} "
                f"(as TrainRun members record them), got {c!r:.60}"
            )
        ok = (
            all(isinstance(c[k], int) and not isinstance(c[k], bool) for k in ("epoch", "member"))
            and isinstance(c["path"], str)
            and isinstance(c["new"], (int, float))
            and not isinstance(c["new"], bool)
        )
        if not ok:
            raise CaviarError(
                f"changes[{i}]: epoch and member must be integers, path a string and new a "
                f"number, got {c!r:.80}"
            )
    return items
