"""Progress of a run, in a terminal and in Jupyter: one implementation for the CLI and
the Python API (``caviar.train(verbose=1)``, ``caviar.tune(verbose=1)``).

Bars are drawn by rich, which renders live in a terminal and as an updating output
cell in Jupyter. :func:`epoch_progress` draws one bar per population (epochs, members
alive, the best validation score so far, ETA); :func:`trial_progress` one bar over
a search's trials (done / total, best trial score, ETA). Every message also goes to
the ``caviar`` :mod:`logging` logger (:data:`logger`), at INFO for the start and end
of a population or search, so a program that configures logging keeps a record of a
run without the bars. ``verbose=0`` draws nothing (logging still receives the
messages; it is silent unless configured).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress

logger = logging.getLogger("caviar")

EpochHook = Callable[[int, int, int, int, float], None]


def make_console(stderr: bool = True):
    """A rich console (stderr by default): a terminal, a pipe or a Jupyter cell. In
    Jupyter the bars update in place through ipywidgets (``pip install
    "caviar[notebook]"``); without it they are printed once, when they finish."""
    import importlib.util

    from rich.console import Console

    console = Console(stderr=stderr)
    if console.is_jupyter and importlib.util.find_spec("ipywidgets") is None:
        return Console(stderr=stderr, force_jupyter=False)
    return console


def _best(value: float) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) and math.isfinite(value) else "-"


def _bar(label: str, fields: list[str], console=None) -> Progress:
    """A rich ``Progress``: ``label``, the bar, done / total, the ``fields`` columns, the
    best validation score so far, time elapsed and ETA; it stays drawn when it ends."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        *(TextColumn(field) for field in fields),
        TextColumn("best val {task.fields[best]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console if console is not None else make_console(),
        transient=False,
    )


@contextmanager
def epoch_progress(
    populations: list[tuple[str, int]], enabled: bool = True, console=None
) -> Iterator[EpochHook]:
    """Yield ``on_epoch(pop, epoch, epochs, alive, best)`` that advances one bar per
    population (``populations``: each bar's label and epoch count)."""
    done: set[int] = set()
    lock = threading.Lock()
    if not enabled:

        def quiet(pop: int, epoch: int, epochs: int, alive: int, best: float) -> None:
            with lock:
                if (not alive or epoch >= epochs) and pop not in done:
                    done.add(pop)
                    logger.info("population %d finished: best val %s", pop + 1, _best(best))

        yield quiet
        return
    progress = _bar("{task.description}", ["alive {task.fields[alive]}"], console)
    with progress:
        tasks = [
            progress.add_task(label, total=epochs, alive="-", best="-")
            for label, epochs in populations
        ]

        def on_epoch(pop: int, epoch: int, epochs: int, alive: int, best: float) -> None:
            with lock:
                progress.update(
                    tasks[pop], completed=epoch if alive else epochs, alive=alive, best=_best(best)
                )
                if (not alive or epoch >= epochs) and pop not in done:
                    done.add(pop)
                    logger.info("population %d finished: best val %s", pop + 1, _best(best))

        yield on_epoch


class TrialBar:
    """``bar(info)`` advances a search's trial bar (``info``: ``done``, ``total``,
    ``best``); the bar appears at the first call or at :meth:`start` (so that an error
    before training stays one line), and stays drawn when the search ends."""

    def __init__(self, progress, task) -> None:
        self.progress, self.task = progress, task
        self.started = False
        self.lock = threading.Lock()

    def start(self) -> None:
        with self.lock:
            if self.progress is not None and not self.started:
                self.progress.start()
                self.started = True

    def __call__(self, info: dict) -> None:
        self.start()
        if self.progress is not None:
            best = _best(info["best"])
            self.progress.update(self.task, completed=info["done"], total=info["total"], best=best)
        logger.info("trials done: %s of %s (best val %s)", info["done"], info["total"],
                    _best(info["best"]))  # fmt: skip

    def stop(self) -> None:
        if self.started:
            self.progress.stop()


@contextmanager
def trial_progress(
    total: int | None, enabled: bool = True, console=None, label: str = "trials"
) -> Iterator[TrialBar]:
    """Yield a :class:`TrialBar` over a search's trials (ETA from the trials done so far;
    no total: a count)."""
    if not enabled:
        yield TrialBar(None, None)
        return
    progress = _bar(label, [], console)
    bar = TrialBar(progress, progress.add_task(label, total=total, best="-"))
    try:
        yield bar
    finally:
        bar.stop()


__all__ = ["TrialBar", "epoch_progress", "logger", "make_console", "trial_progress"]
