"""Rich progress bars (with ETA) for populations training epoch by epoch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from caviar.cli.output import stderr_console


@contextmanager
def epoch_progress(populations: list[tuple[str, int]], enabled: bool = True) -> Iterator:
    """Yield ``on_epoch(pop, epoch, epochs, alive, best)`` that advances one bar per population."""
    if not enabled:
        yield None
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("alive {task.fields[alive]}"),
        TextColumn("best val {task.fields[best]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=stderr_console,
        transient=False,
    )
    with progress:
        tasks = [
            progress.add_task(label, total=epochs, alive="-", best="-")
            for label, epochs in populations
        ]

        def on_epoch(pop: int, epoch: int, epochs: int, alive: int, best: float) -> None:
            progress.update(
                tasks[pop], completed=epoch if alive else epochs, alive=alive, best=f"{best:.4f}"
            )

        yield on_epoch
