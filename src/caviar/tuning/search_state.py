"""What the search loop's steps share (:mod:`caviar.tuning.search`).

* :class:`SearchContext`: what a search is asked to run (read only);
* :class:`SearchStart`: what a starting search created (its run directory's
  ``run.json``, a new SQLite file), undone when it fails before storing a trial;
* :class:`SearchState`: what the steps change as the search runs -- the study (open,
  or opening in a background thread), this process's finished trials and kept member
  records, the counters (populations started, trials done), the best scores and their
  traces over time, the seconds spent on storage.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caviar.run_dir import claim_tune_dir, remove_unstarted_tune
from caviar.trial import Trial
from caviar.tuning.background import BackgroundStore
from caviar.tuning.executor import MemberRecord
from caviar.tuning.executor_protocol import Executor
from caviar.tuning.objective_values import stored_objectives
from caviar.tuning.plan import TunePlan
from caviar.tuning.storage import TrialStore
from caviar.tuning.strategies import Strategy
from caviar.tuning.strategies.base import Score
from caviar.tuning.tune_callbacks import TuneHooks

Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class SearchContext:
    """What :func:`caviar.tuning.search.run_search` runs: the validated plan and data, the
    strategy and its budget (``total`` trials or None, ``batch`` per round), where the
    study lives, the progress hooks, the start time (``time.perf_counter()``), the
    connected executor and the factory of each population's trainer callbacks."""

    plan: TunePlan
    data: Any
    strategy: Strategy
    total: int | None
    batch: int
    out: str | Path | None
    storage: str | None
    resume: bool
    on_progress: Progress | None
    on_epoch: Callable[[int, int, int, float], None] | None
    start: float
    executor: Executor
    # a population's callbacks (halving or PBT, the time budget) from its seed and the
    # deadline (a time.time() instant or None): caviar.tuning.runner builds them
    callbacks: Callable[[int, float | None], list]
    # caviar.tune(callbacks=...) (Keras- and Optuna-style) and panda mode's controls
    hooks: TuneHooks = field(default_factory=TuneHooks)


@dataclass
class SearchStart:
    """What a starting search created, to undo when it fails before storing a trial
    (disk full, a study that cannot be opened): then no ``run.json`` is left behind and
    a retry starts afresh."""

    run_dir: Path | None = None  # the run directory this start is claiming
    dir_existed: bool = True
    owns_marker: bool = False  # this process created the run directory's run.json
    db: Path | None = None  # the SQLite study file this start created
    rows: int = 0  # trials handed to the study
    writer: BackgroundStore | None = None  # the study opening in the background

    def claim(self, run_dir: Path, *, study: str, resume: bool, url: str, db: Path | None) -> None:
        """Claim ``run_dir`` for ``study`` (:func:`caviar.run_dir.claim_tune_dir`), noting
        what this claim creates: the directory's ``run.json`` and, when the SQLite file
        ``db`` does not exist yet, that file."""
        self.run_dir, self.dir_existed = run_dir, run_dir.exists()
        db_existed = db is not None and db.exists()
        if not claim_tune_dir(run_dir, study=study, resume=resume, storage=url):
            self.owns_marker, self.db = True, None if db_existed else db

    def stored_nothing(self) -> bool:
        """No trial reached the study: none was handed over, or its study never opened."""
        return self.rows == 0 or (self.writer is not None and self.writer.store is None)

    def undo(self) -> None:
        """Remove what this start created when no trial reached the study."""
        if self.run_dir is not None and self.stored_nothing():
            remove_unstarted_tune(
                self.run_dir, dir_existed=self.dir_existed, db=self.db, marker=self.owns_marker
            )


@dataclass
class SearchState:
    """The running search: the study and what the rounds have done so far.

    ``store`` is the open study, or None while ``writer`` opens and writes it in a
    background thread (a fresh SQLite run). The time budget ends at ``deadline`` (a
    ``time.time()`` instant or None); ``budget_bytes`` is one population's share of the
    memory budget."""

    ctx: SearchContext
    started: SearchStart
    url: str  # the study's storage URL
    run_dir: Path
    store: TrialStore | None
    writer: BackgroundStore | None
    deadline: float | None
    budget_bytes: float
    storage_seconds: float  # spent opening, writing and reading the study
    busy_seconds: float | None = None  # the background writer's own busy time
    populations_started: int = 0
    n_done: int = 0  # trials finished (this process's and, when resuming, earlier ones)
    best_epoch: float = -math.inf  # best validation score of any epoch so far
    best_trial: float = -math.inf  # best score of a finished trial so far
    epoch_trace: list[tuple[float, float]] = field(default_factory=list)  # (seconds, best)
    trial_trace: list[tuple[float, float]] = field(default_factory=list)  # (seconds, best)
    local: dict[int, tuple[dict, Score]] = field(default_factory=dict)  # params, score
    kept: dict[int, MemberRecord] = field(default_factory=dict)  # top records (weights)
    # populations may report epochs from several threads
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def past_deadline(self) -> bool:
        """The time budget is spent: no population starts after it (the first always does)."""
        started = self.populations_started > 0
        return self.deadline is not None and started and time.time() > self.deadline

    def may_start(self) -> bool:
        """Whether the executor may start a population now (counting it when it may)."""
        if self.past_deadline():
            return False
        self.populations_started += 1
        return True

    def on_epoch(self, epoch: int, epochs: int, alive: int, best: float) -> None:
        """A population finished an epoch: trace a new best score, pass it on."""
        with self.lock:
            if math.isfinite(best) and best > self.best_epoch:
                self.best_epoch = best
                self.epoch_trace.append((time.perf_counter() - self.ctx.start, best))
            if self.ctx.on_epoch is not None:
                self.ctx.on_epoch(epoch, epochs, alive, best)

    def record(self, rows: list[Trial]) -> None:
        """Hand finished trials to the study (now, or to the background writer) and count
        them done."""
        self.started.rows += len(rows)
        names = self.ctx.plan.settings.objectives
        for r in rows:  # what the strategy sees: the score, or the objectives' values
            score = tuple(stored_objectives(r, list(names))) if names else r.value
            self.local[r.number] = (dict(r.params), score)
        if self.store is not None:
            self.storage_seconds += self.store.write(self.ctx.plan.space, rows)
        elif self.writer.store is None and self.writer.error is not None:  # type: ignore[union-attr]
            raise self.writer.error  # type: ignore[union-attr]  # the study cannot be opened
        else:
            self.writer.submit(rows)  # type: ignore[union-attr, arg-type]  # Trial reads as a record
        self.ctx.hooks.recorded(self.store, rows)
        self.n_done += len(rows)

    def note_best(self, rows: list[Trial]) -> None:
        """Trace the best finished trial's score when ``rows`` improve it."""
        scores = [r.value for r in rows if math.isfinite(r.value)]
        if scores and max(scores) > self.best_trial:
            self.best_trial = max(scores)
            self.trial_trace.append((time.perf_counter() - self.ctx.start, self.best_trial))

    def report_progress(self) -> None:
        """Tell ``on_progress`` the trials done, the budget and the best score."""
        if self.ctx.on_progress is not None:
            self.ctx.on_progress(
                {"done": self.n_done, "total": self.ctx.total, "best": self.best_trial}
            )
