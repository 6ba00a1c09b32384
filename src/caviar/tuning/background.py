"""Writing trials to the study in a background thread while populations train.

For a fresh run (no ``--resume``) the study is opened and every population's
trials are written by one worker thread, so the SQLite writes (and the one-time
cost of opening the study: importing SQLAlchemy/Alembic, creating tables)
overlap with training instead of adding to the wall time. Before writing a
population the worker claims its indices; indices another live process has
claimed or finished in the meantime are dropped, so the study never holds a
configuration twice. A process killed with populations still queued loses only
those populations, and ``--resume`` runs them again.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from caviar.tuning.space import SearchSpace
from caviar.tuning.storage import TrialStore


class BackgroundStore:
    """A worker thread that opens a :class:`TrialStore` and writes populations in order."""

    def __init__(self, opener: Callable[[], TrialStore], space: SearchSpace) -> None:
        self.space = space
        self.store: TrialStore | None = None
        self.error: BaseException | None = None
        self.busy_seconds = 0.0
        self.dropped = 0
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, args=(opener,), daemon=True)
        self._thread.start()

    def _run(self, opener: Callable[[], TrialStore]) -> None:
        t = time.perf_counter()
        try:
            self.store = opener()
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread by close()
            self.error = e
        self.busy_seconds += time.perf_counter() - t
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self.error is not None or self.store is None:
                continue
            t = time.perf_counter()
            try:
                indices, rows = item
                mine = set(self.store.claim(indices))
                keep = [r for r in rows if r["index"] in mine]
                self.dropped += len(rows) - len(keep)
                if keep:
                    self.store.write(self.space, keep)
            except BaseException as e:  # noqa: BLE001
                self.error = e
            self.busy_seconds += time.perf_counter() - t

    def submit(self, rows: list[dict[str, Any]]) -> None:
        """Queue one population's finished trials."""
        self._queue.put(([int(r["index"]) for r in rows], rows))

    def close(self) -> float:
        """Wait for every queued write; returns the seconds the caller waited."""
        t = time.perf_counter()
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error
        return time.perf_counter() - t
