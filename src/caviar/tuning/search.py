"""The search loop: rounds of suggestions trained as populations, then the final model.

:func:`caviar.tuning.runner.tune` validates the plan, connects the executor and
hands :func:`run_search` a :class:`SearchContext`. Then:

1. The study opens (:func:`caviar.tuning.identity.open_study`): now when resuming or
   on a server (claims decide what runs), else in a background thread while the
   first populations train (``caviar.tuning.background``).
2. Rounds: the strategy suggests ``batch`` parameter sets from a generator seeded
   by ``(seed, round)`` (:func:`round_rng`) and the finished trials of earlier
   rounds, so a round is reproducible; trial ``index`` = position in that sequence.
3. The round's unclaimed configurations are grouped into populations under the
   memory budget (``caviar.tuning.executor.plan_populations``; populations side by
   side share it), run by the executor (:mod:`caviar.tuning.executor_protocol`) and
   each population's trials written to the study in one burst
   (:mod:`caviar.tuning.trials`). No population starts after the time budget (the
   first always does).
4. Before the end, trials another live process claimed are waited for, and the
   indices of the trial budget it claimed and left unfinished are run too.
5. The ranked trials give the final model (:mod:`caviar.tuning.final_model`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from caviar.config import validate_config
from caviar.data import data_fingerprint
from caviar.errors import CaviarError
from caviar.run_dir import absolute_url, claim_tune_dir, remove_unstarted_tune
from caviar.trial import Trial
from caviar.tuning.background import BackgroundStore
from caviar.tuning.executor import MemberRecord, plan_populations
from caviar.tuning.executor_protocol import Executor, PopulationJob
from caviar.tuning.final_model import TuneResult, final_model
from caviar.tuning.identity import open_study, search_identity
from caviar.tuning.plan import TunePlan, check_config
from caviar.tuning.storage import TrialStore, decode_params, sqlite_path
from caviar.tuning.strategies import Strategy
from caviar.tuning.trials import (
    failed_record,
    pbt_record,
    population_seed,
    rank_key,
    stored_value,
    trial_record,
    trim_kept,
)
from caviar.tuning.tune_callbacks import TuneHooks

Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class SearchContext:
    """What :func:`run_search` runs: the validated plan and data, the strategy and its
    budget (``total`` trials or None, ``batch`` per round), where the study lives, the
    progress hooks, the start time (``time.perf_counter()``), the connected executor and the
    factory of each population's trainer callbacks."""

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
class _Start:
    """What a starting search created, to undo when it fails before storing a trial
    (disk full, a study that cannot be opened): then no ``run.json`` is left behind and
    a retry starts afresh."""

    run_dir: Path | None = None  # the run directory this start is claiming
    dir_existed: bool = True
    owns_marker: bool = False  # this process created the run directory's run.json
    db: Path | None = None  # the SQLite study file this start created
    rows: int = 0  # trials handed to the study
    writer: BackgroundStore | None = None  # the study opening in the background

    def stored_nothing(self) -> bool:
        """No trial reached the study: none was handed over, or its study never opened."""
        return self.rows == 0 or (self.writer is not None and self.writer.store is None)

    def undo(self) -> None:
        if self.run_dir is not None and self.stored_nothing():
            remove_unstarted_tune(
                self.run_dir, dir_existed=self.dir_existed, db=self.db, marker=self.owns_marker
            )


def run_search(ctx: SearchContext) -> TuneResult:
    """The body of :func:`caviar.tuning.runner.tune` once the executor is ready (see the
    module docstring)."""
    started = _Start()
    try:
        return _run_search(ctx, started)
    except BaseException:
        started.undo()
        raise


def _run_search(ctx: SearchContext, started: _Start) -> TuneResult:
    plan, data, strategy, total, batch = ctx.plan, ctx.data, ctx.strategy, ctx.total, ctx.batch
    resume, on_progress, on_epoch, start = ctx.resume, ctx.on_progress, ctx.on_epoch, ctx.start
    runner_executor = ctx.executor
    s, space = plan.settings, plan.space
    run_dir = Path(ctx.out) if ctx.out is not None else Path("runs") / plan.name
    url = absolute_url(ctx.storage or f"sqlite:///{run_dir / 'study.db'}")
    t_open = time.perf_counter()
    path = sqlite_path(url)
    if path is not None and path.exists() and not resume:
        raise CaviarError(
            f"{path} already holds a study; pass --resume to continue it "
            "or choose another run directory"
        )
    identity = {**search_identity(plan), "data": data_fingerprint(ctx.data)}

    def open_store() -> TrialStore:
        return open_study(url, plan, identity, resume)

    # resume or a server: open now (claims decide what runs); a fresh SQLite run: the
    # study opens and is written in a background thread while populations train
    sync = resume or path is None or ctx.hooks.reads_study  # callbacks read the study
    if path is not None:  # the run directory is checked and claimed before the study opens
        started.run_dir, started.dir_existed = run_dir, run_dir.exists()
        db_existed = path.exists()
        if not claim_tune_dir(run_dir, study=plan.name, resume=resume, storage=url):
            started.owns_marker, started.db = True, None if db_existed else path
    store: TrialStore | None = open_store() if sync else None
    if path is None:  # a server study: once it opened (an unreachable one writes nothing)
        try:
            started.run_dir, started.dir_existed = run_dir, run_dir.exists()
            started.owns_marker = not claim_tune_dir(
                run_dir, study=plan.name, resume=resume, storage=url
            )
        except BaseException:
            store.close()  # type: ignore[union-attr]
            raise
    writer = None if sync else BackgroundStore(open_store, space)
    started.writer = writer
    open_seconds = time.perf_counter() - t_open
    local: dict[int, tuple[dict, float]] = {}  # this process's trials: params, score

    def record(rows: list[Trial]) -> float:
        started.rows += len(rows)
        for r in rows:
            local[r.number] = (dict(r.params), r.value)
        seconds = 0.0
        if store is not None:
            seconds = store.write(space, rows)
        elif writer.store is None and writer.error is not None:  # type: ignore[union-attr]
            raise writer.error  # type: ignore[union-attr]  # the study cannot be opened
        else:
            writer.submit(rows)  # type: ignore[union-attr]
        ctx.hooks.recorded(store, rows)
        return seconds

    # the time budget counts from here (setup excluded); the first population always
    # starts; inside a population the TimeBudget callback stops the members at the deadline
    deadline = time.time() + s.time_budget if s.time_budget is not None else None
    ran = 0

    def past_deadline() -> bool:  # no population starts after it (the first always does)
        return deadline is not None and ran > 0 and time.time() > deadline

    # populations that run side by side share the memory budget
    budget_bytes = s.memory_budget_mb * 2**20 / getattr(runner_executor, "concurrency", 1)
    budget_bytes /= validate_config(plan.base).train.cv or 1  # search.cv: k members a trial
    kept: dict[int, MemberRecord] = {}  # top records (weights) of this process
    trace: list[tuple[float, float]] = []  # (seconds, best validation score of any epoch)
    trial_trace: list[tuple[float, float]] = []  # (seconds, best finished trial's score)
    best_so_far = -math.inf
    storage_seconds = open_seconds

    hook_lock = threading.Lock()  # populations may report from several threads

    def epoch_hook(epoch: int, epochs: int, alive: int, best: float) -> None:
        nonlocal best_so_far
        with hook_lock:
            if math.isfinite(best) and best > best_so_far:
                best_so_far = best
                trace.append((time.perf_counter() - start, best))
            if on_epoch is not None:
                on_epoch(epoch, epochs, alive, best)

    n_done = len(store.finished()) if store is not None else 0
    best_trial = -math.inf
    keep_n = max(s.ensemble_top_k, 1)

    def run_round(round_: int) -> bool:
        """Suggest, claim and train round ``round_`` (the indices of it that are neither
        finished nor claimed by a live process); False when the strategy has no more."""
        nonlocal storage_seconds, n_done, best_trial
        lo = round_ * batch
        n = batch if total is None else min(batch, total - lo)
        known: dict[int, tuple[dict, float]] = {}
        if store is not None:
            if strategy.adaptive:
                while store.pending_elsewhere(list(range(lo))):
                    time.sleep(0.5)
            known = {
                i: (decode_params(space, t.params), stored_value(t))
                for i, t in store.finished().items()
            }
        known.update(local)
        history = [known.get(i, ({}, float("nan"))) for i in range(lo)]
        if strategy.adaptive:
            history = [h for h in history if h[0]]
        suggestions = strategy.suggest(space, history, n, round_rng(s.seed, round_))
        indices = [lo + j for j in range(len(suggestions))]
        if not suggestions:
            return False
        mine = store.claim(indices) if store is not None else indices
        configs, ok_idx, failed = {}, [], []
        for i in mine:
            p = suggestions[i - lo]
            try:
                cfg = validate_config(space.apply(plan.base, p), "search")
                check_config(cfg, data.task)
                configs[i] = cfg
                ok_idx.append(i)
            except CaviarError as e:
                failed.append(failed_record(i, round_, p, str(e)))
        if failed:
            storage_seconds += record(failed)
            n_done += len(failed)
        cfg_list = [configs[i] for i in ok_idx]
        jobs = [
            PopulationJob(
                [ok_idx[j] for j in pop],
                [cfg_list[j] for j in pop],
                [
                    *ctx.hooks.population_callbacks([ok_idx[j] for j in pop], round_),
                    *ctx.callbacks(population_seed(plan, [ok_idx[j] for j in pop]), deadline),
                ],
            )
            for pop in plan_populations(cfg_list, data, budget_bytes, s.max_population)
        ]

        def may_start() -> bool:
            nonlocal ran
            if past_deadline():
                return False
            ran += 1
            return True

        for job, recs, error in runner_executor.run(jobs, data, may_start, epoch_hook):
            idx = job.indices
            if error is not None:  # lost for good (e.g. its worker died too often)
                rows = [failed_record(i, round_, suggestions[i - lo], error) for i in idx]
                rows = ctx.hooks.population_end(idx, None, rows)
                storage_seconds += record(rows)
                n_done += len(rows)
                if on_progress is not None:
                    on_progress({"done": n_done, "total": total, "best": best_trial})
                continue
            pbt = pbt_record(plan, population_seed(plan, idx))
            rows = [
                trial_record(i, round_, suggestions[i - lo], r, idx, pbt)
                for i, r in zip(idx, recs, strict=True)
            ]
            rows = ctx.hooks.population_end(idx, recs, rows)  # panda mode, on_population_end
            storage_seconds += record(rows)
            for i, r, row in zip(idx, recs, rows, strict=True):
                if r.pbt_log:  # the final model and its refit use the final values
                    r.member.config = validate_config(space.apply(plan.base, dict(row.params)))
                kept[i] = r
                r.row = row  # type: ignore[attr-defined]
            trim_kept(kept, keep_n)
            n_done += len(rows)
            scores = [r.value for r in rows if math.isfinite(r.value)]
            if scores and max(scores) > best_trial:
                best_trial = max(scores)
                trial_trace.append((time.perf_counter() - start, best_trial))
            if on_progress is not None:
                on_progress({"done": n_done, "total": total, "best": best_trial})
        return True

    round_ = 0
    while (total is None or round_ * batch < total) and not past_deadline():
        if not run_round(round_):
            break
        round_ += 1

    busy = None
    if writer is not None:
        storage_seconds += writer.close()
        store, busy = writer.store, writer.busy_seconds
    t_read = time.perf_counter()
    progress = True
    while True:
        # trials claimed by another live process on the same study: wait for them
        while store.pending_elsewhere(list(range(round_ * batch))):
            time.sleep(0.5)
        trials = store.finished_trials()
        # gaps: indices of the trial budget another process claimed, then left unfinished
        # (killed, or it skipped them at its time budget) after this one had passed them
        done = {t.number for t in trials}
        gaps = []
        if total is not None and progress and not past_deadline():
            gaps = [i for i in range(min(total, round_ * batch)) if i not in done]
        if not gaps:
            break
        run_round(gaps[0] // batch)
        # no progress (e.g. the budget stopped every population): read once more, stop
        progress = len(store.finished_indices()) > len(done)
    trials = sorted(trials, key=rank_key)
    store.close()
    storage_seconds += time.perf_counter() - t_read
    final = final_model(trials, kept, plan, data)
    return TuneResult(
        plan=plan,
        trials=trials,
        best=final.best,
        model=final.model,
        val_score=final.val_score,
        test_score=final.test_score,
        counts=final.counts,
        seconds=time.perf_counter() - start,
        storage_seconds=storage_seconds,
        storage_busy_seconds=busy if busy is not None else storage_seconds,
        baseline=final.baseline,
        verdict=final.verdict,
        trace=trial_trace,
        epoch_trace=trace,
        storage_url=url,
        run_dir=str(run_dir),
        task=data.task,
        rebuilt=final.rebuilt,
        metric=validate_config(ctx.plan.base).train.metric,
    )


def round_rng(seed: int, round_: int) -> np.random.Generator:
    """The generator of round ``round_``'s suggestions: reproducible per (seed, round)."""
    return np.random.default_rng([seed, round_])
