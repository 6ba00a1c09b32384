"""The search loop: rounds of suggestions trained as populations, then the final model.

:func:`caviar.tuning.runner.tune` validates the plan, connects the executor and
hands :func:`run_search` a :class:`SearchContext`. The loop is a few named steps,
each a function reading and changing one :class:`SearchState`
(:mod:`caviar.tuning.search_state`):

1. :func:`open_search`: the study opens (:func:`caviar.tuning.identity.open_study`):
   now when resuming or on a server (claims decide what runs), else in a background
   thread while the first populations train (``caviar.tuning.background``).
2. :func:`~caviar.tuning.search_round.run_round`, round after round: the strategy
   suggests ``batch`` parameter sets from a generator seeded by ``(seed, round)``
   (:func:`round_rng`) and the finished trials of earlier rounds, so a round is
   reproducible; trial ``index`` = position in that sequence. The round's unclaimed
   configurations are validated, grouped into populations under the memory budget
   (``caviar.tuning.executor.plan_populations``; populations side by side share it),
   run by the executor (:mod:`caviar.tuning.executor_protocol`) and each
   population's trials written to the study in one burst (:mod:`caviar.tuning.trials`).
   No population starts after the time budget (the first always does).
3. :func:`wait_and_fill_gaps`: trials another live process claimed are waited for,
   and the indices of the trial budget it claimed and left unfinished are run too.
4. :func:`finish`: the ranked trials give the final model
   (:mod:`caviar.tuning.final_model`); with several objectives the trials are ranked
   by their Pareto front first (:mod:`caviar.tuning.pareto`).
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

from caviar.data import data_fingerprint
from caviar.errors import CaviarError
from caviar.run_dir import absolute_url
from caviar.trial import Trial
from caviar.tuning.background import BackgroundStore
from caviar.tuning.final_model import TuneResult, final_model
from caviar.tuning.identity import open_study, search_identity
from caviar.tuning.objectives import directions_of
from caviar.tuning.pareto import rank_by_front
from caviar.tuning.search_round import round_rng, run_round
from caviar.tuning.search_state import Progress, SearchContext, SearchStart, SearchState
from caviar.tuning.storage import TrialStore, sqlite_path
from caviar.tuning.trials import rank_key

__all__ = ["Progress", "SearchContext", "SearchState", "round_rng", "run_search"]


def run_search(ctx: SearchContext) -> TuneResult:
    """The body of :func:`caviar.tuning.runner.tune` once the executor is ready (see the
    module docstring); a search that fails before storing a trial leaves nothing behind."""
    started = SearchStart()
    try:
        return _search(ctx, started)
    except BaseException:
        started.undo()
        raise


def _search(ctx: SearchContext, started: SearchStart) -> TuneResult:
    state = open_search(ctx, started)
    rounds = 0
    while (ctx.total is None or rounds * ctx.batch < ctx.total) and not state.past_deadline():
        if not run_round(state, rounds):
            break
        rounds += 1
    trials = wait_and_fill_gaps(state, rounds)
    return finish(state, trials)


def open_search(ctx: SearchContext, started: SearchStart) -> SearchState:
    """Claim the run directory and open the study: now when resuming, on a server or
    when callbacks read the study (claims decide what runs), else in a background
    thread while the first populations train. The time budget counts from here."""
    plan = ctx.plan
    run_dir = Path(ctx.out) if ctx.out is not None else Path("runs") / plan.name
    url = absolute_url(ctx.storage or f"sqlite:///{run_dir / 'study.db'}")
    t_open = time.perf_counter()
    path = sqlite_path(url)
    if path is not None and path.exists() and not ctx.resume:
        raise CaviarError(
            f"{path} already holds a study; pass --resume to continue it "
            "or choose another run directory"
        )
    identity = {**search_identity(plan), "data": data_fingerprint(ctx.data)}

    def open_store() -> TrialStore:
        return open_study(url, plan, identity, ctx.resume)

    claim = functools.partial(started.claim, run_dir, study=plan.name, resume=ctx.resume, url=url)
    sync = ctx.resume or path is None or ctx.hooks.reads_study  # callbacks read the study
    if path is not None:  # the run directory is checked and claimed before the study opens
        claim(db=path)
    store: TrialStore | None = open_store() if sync else None
    if path is None:  # a server study: once it opened (an unreachable one writes nothing)
        try:
            claim(db=None)
        except BaseException:
            store.close()  # type: ignore[union-attr]
            raise
    writer = None if sync else BackgroundStore(open_store, plan.space)
    started.writer = writer
    return _started_state(ctx, started, url, run_dir, store, writer, time.perf_counter() - t_open)


def _started_state(
    ctx: SearchContext,
    started: SearchStart,
    url: str,
    run_dir: Path,
    store: TrialStore | None,
    writer: BackgroundStore | None,
    open_seconds: float,
) -> SearchState:
    """The state of a search whose study is open (or opening): the time budget counts
    from now (setup excluded; inside a population the TimeBudget callback stops the
    members at the deadline) and populations side by side share the memory budget."""
    s = ctx.plan.settings
    deadline = time.time() + s.time_budget if s.time_budget is not None else None
    budget_bytes = s.memory_budget_mb * 2**20 / getattr(ctx.executor, "concurrency", 1)
    budget_bytes /= ctx.plan.base_config().train.cv or 1  # search.cv: k members a trial
    state = SearchState(
        ctx, started, url=url, run_dir=run_dir, store=store, writer=writer,
        deadline=deadline, budget_bytes=budget_bytes, storage_seconds=open_seconds,
    )  # fmt: skip
    state.n_done = len(store.finished()) if store is not None else 0
    return state


def wait_and_fill_gaps(state: SearchState, rounds: int) -> list[Trial]:
    """The study's finished trials, ranked, once the background writer is done, the
    trials another live process claimed have finished, and the gaps are filled: the
    indices of the trial budget another process claimed, then left unfinished (killed,
    or it skipped them at its time budget) after this one had passed them. The study
    is closed."""
    ctx = state.ctx
    if state.writer is not None:
        state.storage_seconds += state.writer.close()
        state.store, state.busy_seconds = state.writer.store, state.writer.busy_seconds
    store: TrialStore = state.store  # type: ignore[assignment]
    t_read = time.perf_counter()
    progress = True
    while True:
        while store.pending_elsewhere(list(range(rounds * ctx.batch))):
            time.sleep(0.5)  # trials claimed by another live process: wait for them
        trials = store.finished_trials()
        done = {t.number for t in trials}
        gaps = []
        if ctx.total is not None and progress and not state.past_deadline():
            gaps = [i for i in range(min(ctx.total, rounds * ctx.batch)) if i not in done]
        if not gaps:
            break
        run_round(state, gaps[0] // ctx.batch)
        # no progress (e.g. the budget stopped every population): read once more, stop
        progress = len(store.finished_indices()) > len(done)
    trials = sorted(trials, key=rank_key)
    store.close()
    state.storage_seconds += time.perf_counter() - t_read
    return trials


def finish(state: SearchState, trials: list[Trial]) -> TuneResult:
    """The result: the ranked ``trials``, the final model built from them and the
    kept member records, its scores and the search's timings and traces."""
    ctx = state.ctx
    s = ctx.plan.settings
    names, directions = list(s.objectives or []), directions_of(s)
    if names:  # several objectives: the Pareto front first (caviar.tuning.pareto)
        trials = rank_by_front(trials, names, directions)
    final = final_model(trials, state.kept, ctx.plan, ctx.data)
    busy = state.busy_seconds
    return TuneResult(
        plan=ctx.plan,
        trials=trials,
        best=final.best,
        model=final.model,
        val_score=final.val_score,
        test_score=final.test_score,
        counts=final.counts,
        seconds=time.perf_counter() - ctx.start,
        storage_seconds=state.storage_seconds,
        storage_busy_seconds=busy if busy is not None else state.storage_seconds,
        baseline=final.baseline,
        verdict=final.verdict,
        trace=state.trial_trace,
        epoch_trace=state.epoch_trace,
        storage_url=state.url,
        run_dir=str(state.run_dir),
        task=ctx.data.task,
        rebuilt=final.rebuilt,
        metric=ctx.plan.base_config().train.metric,
        objectives=names,
        directions=directions if names else [],
    )
