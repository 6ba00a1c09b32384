"""One round of the search loop (:mod:`caviar.tuning.search`), in four steps:

1. :func:`suggest_and_claim`: the strategy suggests the round's parameter sets from a
   generator seeded by ``(seed, round)`` (:func:`round_rng`) and the finished trials
   of earlier rounds, so a round is reproducible (trial ``index`` = position in that
   sequence); on a shared study this process claims the indices no live process has
   claimed or finished;
2. :func:`validate_claimed`: each claimed set applied to the base config and checked;
   a set that fails is recorded as a failed trial;
3. :func:`build_jobs`: the valid configurations grouped into populations under the
   memory budget (:func:`caviar.tuning.executor.plan_populations`), each with its
   callbacks;
4. :func:`record_outcome`: each population the executor returns is written to the
   study in one burst (:mod:`caviar.tuning.trials`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from caviar.config import RunConfig, validate_config
from caviar.errors import CaviarError
from caviar.tuning.executor import MemberRecord, plan_populations
from caviar.tuning.executor_protocol import PopulationJob
from caviar.tuning.objective_values import measure
from caviar.tuning.plan import check_config
from caviar.tuning.search_state import SearchState
from caviar.tuning.storage import decode_params
from caviar.tuning.storage_records import study_values
from caviar.tuning.strategies.base import History, Score
from caviar.tuning.trials import (
    failed_record,
    pbt_record,
    population_seed,
    stored_value,
    trial_record,
    trim_kept,
)


@dataclass(frozen=True)
class Round:
    """Round ``number``'s suggestions; trial ``lo + j`` runs ``suggestions[j]``."""

    number: int
    lo: int
    suggestions: list[dict[str, Any]]

    def params(self, index: int) -> dict[str, Any]:
        """The parameter set of trial ``index``."""
        return self.suggestions[index - self.lo]


def round_rng(seed: int, round_: int) -> np.random.Generator:
    """The generator of round ``round_``'s suggestions: reproducible per (seed, round)."""
    return np.random.default_rng([seed, round_])


def run_round(state: SearchState, number: int) -> bool:
    """Suggest, claim and train round ``number`` (the indices of it that are neither
    finished nor claimed by a live process); False when the strategy has no more."""
    suggested = suggest_and_claim(state, number)
    if suggested is None:
        return False
    round_, mine = suggested
    jobs = build_jobs(state, round_, validate_claimed(state, round_, mine))
    data = state.ctx.data
    for job, recs, error in state.ctx.executor.run(jobs, data, state.may_start, state.on_epoch):
        record_outcome(state, round_, job, recs, error)
    return True


def suggest_and_claim(state: SearchState, number: int) -> tuple[Round, list[int]] | None:
    """Round ``number``'s suggestions and the indices of them this process claimed;
    None when the strategy has no more."""
    ctx = state.ctx
    lo = number * ctx.batch
    n = ctx.batch if ctx.total is None else min(ctx.batch, ctx.total - lo)
    rng = round_rng(ctx.plan.settings.seed, number)
    suggestions = ctx.strategy.suggest(ctx.plan.space, _history(state, lo), n, rng)
    if not suggestions:
        return None
    indices = [lo + j for j in range(len(suggestions))]
    mine = state.store.claim(indices) if state.store is not None else indices
    return Round(number, lo, suggestions), mine


def _history(state: SearchState, lo: int) -> History:
    """The (params, score) of trials ``0 .. lo - 1`` the strategy sees (with several
    objectives the score is the tuple of their values): all of them
    (``({}, nan)`` where unknown), or for an adaptive strategy the finished ones, once
    every trial another live process claimed before ``lo`` has finished."""
    space, adaptive = state.ctx.plan.space, state.ctx.strategy.adaptive
    known: dict[int, tuple[dict, Score]] = {}
    if state.store is not None:
        if adaptive:
            while state.store.pending_elsewhere(list(range(lo))):
                time.sleep(0.5)
        names = state.ctx.plan.settings.objectives
        known = {
            i: (decode_params(space, t.params), study_values(t) if names else stored_value(t))
            for i, t in state.store.finished().items()
        }
    known.update(state.local)
    history = [known.get(i, ({}, float("nan"))) for i in range(lo)]
    return [h for h in history if h[0]] if adaptive else history


def validate_claimed(state: SearchState, round_: Round, mine: list[int]) -> dict[int, RunConfig]:
    """The configuration of each claimed trial (base config + its parameters) that
    validates and fits the task; the others are recorded as failed trials."""
    plan, task = state.ctx.plan, state.ctx.data.task
    configs: dict[int, RunConfig] = {}
    failed = []
    for i in mine:
        p = round_.params(i)
        try:
            cfg = validate_config(plan.space.apply(plan.base, p), "search")
            check_config(cfg, task)
            configs[i] = cfg
        except CaviarError as e:
            failed.append(failed_record(i, round_.number, p, str(e)))
    if failed:
        state.record(failed)
    return configs


def build_jobs(
    state: SearchState, round_: Round, configs: dict[int, RunConfig]
) -> list[PopulationJob]:
    """The round's populations under the memory budget, each with its callbacks (the
    user's and panda mode's, then halving or PBT and the time budget)."""
    ctx = state.ctx
    indices, cfgs = list(configs), list(configs.values())
    max_population = ctx.plan.settings.max_population
    jobs = []
    for pop in plan_populations(cfgs, ctx.data, state.budget_bytes, max_population):
        idx = [indices[j] for j in pop]
        callbacks = [
            *ctx.hooks.population_callbacks(idx, round_.number),
            *ctx.callbacks(population_seed(ctx.plan, idx), state.deadline),
        ]
        jobs.append(PopulationJob(idx, [cfgs[j] for j in pop], callbacks))
    return jobs


def record_outcome(
    state: SearchState,
    round_: Round,
    job: PopulationJob,
    recs: list[MemberRecord] | None,
    error: str | None,
) -> None:
    """Write one population's trials to the study and report progress: failed trials
    when the population is lost for good (``error``, e.g. its worker died too often),
    else a trial per member record."""
    if error is not None:
        rows = [failed_record(i, round_.number, round_.params(i), error) for i in job.indices]
        state.record(state.ctx.hooks.population_end(job.indices, None, rows))
    else:
        _record_trained(state, round_, job.indices, recs)  # type: ignore[arg-type]
    state.report_progress()


def _record_trained(
    state: SearchState, round_: Round, idx: list[int], recs: list[MemberRecord]
) -> None:
    """Record a trained population's trials; keep the best members' records (weights)
    for the final model and trace the best score."""
    plan = state.ctx.plan
    pbt = pbt_record(plan, population_seed(plan, idx))
    rows = [
        trial_record(i, round_.number, round_.params(i), r, idx, pbt)
        for i, r in zip(idx, recs, strict=True)
    ]
    names = plan.settings.objectives
    if names:  # several objectives: each measured on the member alone
        data = state.ctx.data
        rows = [
            row.with_attrs(objectives=measure(list(names), row, r, data))
            for row, r in zip(rows, recs, strict=True)
        ]
    rows = state.ctx.hooks.population_end(idx, recs, rows)  # panda mode, on_population_end
    state.record(rows)
    for i, r, row in zip(idx, recs, rows, strict=True):
        if r.pbt_log:  # the final model and its refit use the final values
            r.member.config = validate_config(plan.space.apply(plan.base, dict(row.params)))
        state.kept[i] = r
        r.row = row  # type: ignore[attr-defined]
    trim_kept(state.kept, max(plan.settings.ensemble_top_k, 1))
    state.note_best(rows)
