"""The CLI's progress bars: :mod:`caviar.progress` (one implementation for the CLI and
the Python API) drawn on the CLI's stderr console."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from caviar.cli.output import stderr_console
from caviar.progress import EpochHook
from caviar.progress import epoch_progress as _epoch_progress


@contextmanager
def epoch_progress(populations: list[tuple[str, int]], enabled: bool = True) -> Iterator:
    """Yield ``on_epoch(pop, epoch, epochs, alive, best)`` that advances one bar per
    population (None when disabled, as before)."""
    with _epoch_progress(populations, enabled, console=stderr_console) as hook:
        yield hook if enabled else None


__all__ = ["EpochHook", "epoch_progress"]
