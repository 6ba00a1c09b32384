"""``caviar.tune``: the search loop shared by the CLI and the Python API.

1. Read the config and its ``[search]`` section; validate settings, space and
   the first round of configurations before anything is written.
2. Rounds: the strategy suggests ``batch`` parameter sets from a generator
   seeded by ``(seed, round)`` and the finished trials of earlier rounds, so a
   round is reproducible; trial ``index`` = position in that sequence.
3. The round's unclaimed configurations are grouped into populations under the
   memory budget, trained (with successive halving or PBT; the time budget stops
   members between epochs, ``caviar.tune.time_budget``) and each population's
   trials written to the Optuna study in one burst (PBT trials with the
   hyperparameters they ended with). Before the end, the indices of the trial
   budget another process claimed and left unfinished are run too.
4. The best trial by validation score (ties: lower validation loss) gives the
   final model (``caviar.tune.refit``); the test split is evaluated once, for it.
   Chosen trials whose weights are not in memory (finished by an earlier process
   before ``--resume``, or by another process) are trained again exactly
   (``caviar.tune.rebuild``).

``--resume`` continues the study only with the configuration it was run with
(:func:`search_identity`, stored in the study) and the same prepared data
(:func:`caviar.data.data_fingerprint`); the trial and time budgets, the
refit and the ensemble size may change.
"""

from __future__ import annotations

import copy
import math
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from caviar.api import load_data_for
from caviar.config import RunConfig, expand_configs, read_toml, validate_config
from caviar.config.grid import find_axes
from caviar.data import PreparedData, data_fingerprint
from caviar.diagnose.baseline import naive_baseline
from caviar.diagnose.verdict import verdict
from caviar.errors import CaviarError, CaviarWarning
from caviar.model import TrainedModel
from caviar.run_dir import absolute_url, claim_tune_dir
from caviar.serialize import json_safe
from caviar.training.population import optimizer_hypers, resolve_loss_name, structure_key
from caviar.tune import refit as refit_mod
from caviar.tune.background import BackgroundStore
from caviar.tune.dispatch import Executor, ExecutorSpec, PopulationJob, make_executor
from caviar.tune.executor import MemberRecord, plan_populations
from caviar.tune.halving import SuccessiveHalving
from caviar.tune.pbt import PopulationBasedTraining, final_params
from caviar.tune.rebuild import rebuild
from caviar.tune.settings import SearchSettings, parse_settings
from caviar.tune.space import SearchSpace, parse_space
from caviar.tune.storage import TrialStore, decode_params, sqlite_path
from caviar.tune.strategies import Strategy, batch_size, make_strategy
from caviar.tune.time_budget import TimeBudget

Progress = Callable[[dict[str, Any]], None]


@dataclass
class TunePlan:
    """Everything validated before a search starts."""

    base: dict[str, Any]
    settings: SearchSettings
    space: SearchSpace
    name: str


@dataclass
class TuneResult:
    """The outcome of a search."""

    plan: TunePlan
    trials: list[dict[str, Any]]  # every finished trial, ranked best first
    best: dict[str, Any]
    model: TrainedModel
    val_score: float
    test_score: float
    counts: dict[str, int]
    seconds: float
    storage_seconds: float  # wall time the search waited for the study
    storage_busy_seconds: float  # time spent in study I/O, including the background thread
    baseline: dict[str, Any]
    verdict: dict[str, Any]
    trace: list[tuple[float, float]] = field(default_factory=list)  # (s, best trial val)
    epoch_trace: list[tuple[float, float]] = field(default_factory=list)  # (s, best epoch val)
    storage_url: str = ""
    task: str = "classification"
    rebuilt: dict[int, str] = field(default_factory=dict)  # trial -> how it was retrained

    def summary(self) -> dict[str, Any]:
        return {
            "best_params": decode_params(self.plan.space, self.best["params"]),
            # PBT changed the best trial: the values it was sampled with (best_params, the
            # final model's config and a train_val refit use the values it ended with)
            "best_initial_params": self.best.get("pbt_initial_params"),
            "best_index": self.best["index"],
            "val_score": self.val_score,
            "test_score": self.test_score,
            "score_name": "accuracy" if self.task == "classification" else "r2",
            "counts": self.counts,
            "n_trials": len(self.trials),
            "seconds": self.seconds,
            "storage_seconds": self.storage_seconds,
            "storage_busy_seconds": self.storage_busy_seconds,
            "baseline": self.baseline,
            "diagnosis": self.verdict,
            "refit": self.plan.settings.refit,
            "ensemble_size": self.model.n_members,
            "storage": self.storage_url,
            "rebuilt": {str(i): h for i, h in self.rebuilt.items()},
        }


def make_plan(config: str | Path | dict, overrides: dict[str, Any] | None = None) -> TunePlan:
    """Parse and validate a tuning config (nothing is written)."""
    if isinstance(config, dict):
        raw, name = copy.deepcopy(config), "tune"
    else:
        raw, name = read_toml(config), Path(config).stem
    if not isinstance(raw, dict):
        raise CaviarError("config: expected a table of sections")
    settings = parse_settings(raw.pop("search", None), overrides)
    axes = find_axes(raw)
    if axes:
        raise CaviarError(
            f"config: '{next(iter(axes))}' is a list of values; in a tuning config put "
            "searched fields in [search.space]"
        )
    base_cfg = expand_configs(raw)[0]
    space = parse_space(settings.space, raw)
    epochs = base_cfg.train.epochs
    if settings.halving is not None and settings.halving.min_epochs >= epochs:
        raise CaviarError(
            f"search.halving.min_epochs {settings.halving.min_epochs} must be below "
            f"train.epochs {epochs}"
        )
    if settings.pbt is not None and settings.pbt.interval >= epochs:
        raise CaviarError(
            f"search.pbt.interval {settings.pbt.interval} must be below train.epochs {epochs}"
        )
    if settings.pbt is not None and not any(d.per_member for d in space.dimensions):
        raise CaviarError("search.pbt needs at least one continuous per-member dimension")
    return TunePlan(raw, settings, space, name)


def _callbacks(plan: TunePlan, seed: int, deadline: float | None) -> list:
    """A population's callbacks: halving or PBT, then the time budget (``deadline`` is a
    ``time.time()`` instant) so that no member goes on past it."""
    s = plan.settings
    out: list = []
    if s.halving is not None:
        out.append(SuccessiveHalving(s.halving.min_epochs, s.halving.eta))
    if s.pbt is not None:
        out.append(
            PopulationBasedTraining(
                list(plan.space.dimensions),
                interval=s.pbt.interval,
                fraction=s.pbt.fraction,
                perturb=s.pbt.perturb,
                seed=seed,
            )
        )
    if deadline is not None:
        out.append(TimeBudget(deadline))
    return out


#: search settings that decide which configuration a trial index is and how it trains;
#: the others (trials, time_budget, batch, refit, ensemble_top_k, memory budget,
#: max_population) may change between a run and its --resume
IDENTITY_SETTINGS = ("strategy", "seed", "grid_points", "shrink", "top_fraction")


def search_identity(plan: TunePlan) -> dict[str, Any]:
    """What a study's trials depend on, stored in the study (user attribute ``search``):
    ``--resume`` with a different one is refused, since the stored trials (and the
    rebuild of their weights, ``caviar.tune.rebuild``) belong to this configuration."""
    s = plan.settings
    out: dict[str, Any] = {
        "config": validate_config(plan.base).model_dump(mode="json"),
        "space": s.space,
        "halving": s.halving.model_dump() if s.halving is not None else None,
        "pbt": s.pbt.model_dump() if s.pbt is not None else None,
    }
    out.update({k: getattr(s, k) for k in IDENTITY_SETTINGS})
    return json_safe(out)


def _first_difference(a: Any, b: Any, path: str = "") -> tuple[str, Any, Any]:
    """The first dotted path where ``a`` and ``b`` differ, with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in [*a, *[k for k in b if k not in a]]:
            if a.get(k) != b.get(k):
                return _first_difference(a.get(k), b.get(k), f"{path}.{k}" if path else k)
    return path or "(all)", a, b


def _check_config(cfg: RunConfig, task: str) -> None:
    optimizer_hypers(cfg)
    resolve_loss_name(cfg, task)


def _pbt_record(plan: TunePlan, seed: int) -> dict[str, Any] | None:
    """What replaying a PBT population needs besides its members: settings and seed."""
    p = plan.settings.pbt
    if p is None:
        return None
    return {"seed": seed, "interval": p.interval, "fraction": p.fraction, "perturb": p.perturb}


def _population_seed(plan: TunePlan, indices: list[int]) -> int:
    """The seed of a population's callbacks (PBT's generator): from its first trial."""
    return plan.settings.seed * 100_003 + indices[0]


def _trial_record(
    index: int,
    round_: int,
    params: dict,
    rec: MemberRecord,
    population: list[int],
    pbt: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The stored trial of a finished member (``population``: the trial indices of its
    population, in row order; ``pbt``: the PBT settings and seed of that population).
    Its ``params`` are the hyperparameters the member ended with: with PBT the sampled
    ones are kept as ``pbt_initial_params`` and the exploit/explore steps as
    ``pbt_history`` (``from``: the trial index copied). ``population`` and ``pbt`` let
    a later process train the population again (``caviar.tune.rebuild``)."""
    m = rec.member
    cfg = m.config
    extra = {"pbt_initial_params": params} if rec.pbt_log else {}
    if pbt is not None:
        extra["pbt"] = pbt
    return {
        "index": index,
        "round": round_,
        "params": final_params(params, rec.pbt_log),
        "status": m.status,
        "seed": cfg.train.seed,
        "structure": {
            "sizes": rec.sizes,
            "activation": rec.activation,
            "loss": rec.loss_name,
            "optimizer": cfg.optimizer.name,
            "batch_size": cfg.train.batch_size,
        },
        "best_epoch": m.best_epoch,
        "epochs_run": m.epochs_run,
        "val_score": m.val_score,
        "val_loss": m.val_loss,
        "train_score": m.train_score,
        "train_loss": m.train_loss,
        "history": {
            k: m.history[k] for k in ("train_loss", "train_score", "val_loss", "val_score")
        },
        "final_hypers": rec.final_hypers,
        "pbt_history": [{**h, "from": population[h["from"]]} for h in rec.pbt_log],
        "stopped_by": rec.stopped_by,
        "population": list(population),
        **extra,
    }


def _failed_record(index: int, round_: int, params: dict, message: str) -> dict[str, Any]:
    return {
        "index": index,
        "round": round_,
        "params": params,
        "status": "failed",
        "error": message,
        "val_score": float("nan"),
        "history": {},
    }


def _rank_key(t: dict[str, Any]) -> tuple[float, float, int]:
    s = t.get("val_score")
    loss = t.get("val_loss")
    s = s if isinstance(s, (int, float)) and math.isfinite(s) else -math.inf
    loss = loss if isinstance(loss, (int, float)) and math.isfinite(loss) else math.inf
    return (-s, loss, t["index"])


def tune(
    config: str | Path | dict,
    *,
    out: str | Path | None = None,
    storage: str | None = None,
    resume: bool = False,
    overrides: dict[str, Any] | None = None,
    on_progress: Progress | None = None,
    on_epoch: Callable[[int, int, int, float], None] | None = None,
    plan: TunePlan | None = None,
    executor: ExecutorSpec | str | None = None,
    data: PreparedData | None = None,
) -> TuneResult:
    """Run (or resume) a search; returns the ranked trials and the final model.

    ``out`` is the run directory (default ``runs/<config name>``); the default
    storage is ``sqlite:///<out>/study.db``. Outputs other than the study are
    written by the caller (the CLI) or :func:`write_outputs`. ``executor``
    (``"local"``, ``"ray"`` or an :class:`ExecutorSpec`) says where populations
    run (``caviar.tune.dispatch``); it connects before anything is written.
    ``data``: already prepared splits (``caviar.data.prepare_data`` /
    ``prepare_arrays``) to search on instead of loading the config's ``data`` section
    (a ``--resume`` must then be given the same data again).
    """
    start = time.perf_counter()
    _prewarm_storage_imports()
    plan = plan or make_plan(config, overrides)
    s, space = plan.settings, plan.space
    base_cfg = validate_config(plan.base)
    if data is None:
        data = load_data_for([base_cfg])
    elif not isinstance(data, PreparedData):
        raise CaviarError(
            f"data must be prepared splits (caviar.data.prepare_data or prepare_arrays), "
            f"got {type(data).__name__}"
        )
    strategy = make_strategy(s)
    grid_size = strategy.size(space)
    total = s.trials if s.trials is not None else (grid_size if grid_size else None)
    if grid_size is not None and total is not None:
        total = min(total, grid_size)
    batch = batch_size(s) if grid_size is None else min(batch_size(s), total or grid_size)
    # validate the first round of configurations before anything is written
    first = strategy.suggest(space, [], min(batch, total or batch), _rng(s.seed, 0))
    for p in first:
        _check_config(validate_config(space.apply(plan.base, p), "search"), data.task)

    runner_executor = make_executor(executor)  # connects before anything is written
    try:
        return _search(
            SearchContext(
                plan=plan,
                data=data,
                strategy=strategy,
                total=total,
                batch=batch,
                out=out,
                storage=storage,
                resume=resume,
                on_progress=on_progress,
                on_epoch=on_epoch,
                start=start,
                executor=runner_executor,
            )
        )
    finally:
        runner_executor.close()


@dataclass(frozen=True)
class SearchContext:
    """What :func:`_search` runs: the validated plan and data, the strategy and its
    budget (``total`` trials or None, ``batch`` per round), where the study lives, the
    callbacks, the start time (``time.perf_counter()``) and the connected executor."""

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


def _search(ctx: SearchContext) -> TuneResult:
    """The body of :func:`tune` once the executor is ready."""
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
    meta = {"space": {d.path: d.kind for d in space.dimensions}}
    identity = {**search_identity(plan), "data": data_fingerprint(ctx.data)}

    def open_store() -> TrialStore:
        store = TrialStore(url, plan.name, create=True)
        try:
            return check_store(store)
        except BaseException:
            store.close()  # a refused resume leaves the study file as it was
            raise

    def check_store(store: TrialStore) -> TrialStore:
        if not resume and store.finished():
            raise CaviarError(f"study '{plan.name}' in {url} already has trials; pass --resume")
        stored = store.meta().get("search")
        if resume and stored is None and not store.finished():
            warnings.warn(
                f"--resume: no study '{plan.name}' in {url} to resume; started a new one",
                CaviarWarning,
                stacklevel=2,
            )
        if stored is not None and "data" not in stored:  # written before data was checked
            stored = {**stored, "data": identity["data"]}
        if stored is not None and stored != identity:
            path, was, now = _first_difference(stored, identity)
            raise CaviarError(
                f"study '{plan.name}' in {url} was run with another configuration ({path}: "
                f"{was!r} then, {now!r} now); resume with the same config or use another "
                "run directory"
            )
        store.set_meta("space", meta["space"])
        if stored is None:
            store.set_meta("search", identity)
        return store

    # resume or a server: open now (claims decide what runs); a fresh SQLite run: the
    # study opens and is written in a background thread while populations train
    sync = resume or path is None
    if path is not None:  # the run directory is checked and claimed before the study opens
        claim_tune_dir(run_dir, study=plan.name, resume=resume, storage=url)
    store: TrialStore | None = open_store() if sync else None
    if path is None:  # a server study: once it opened (an unreachable one writes nothing)
        try:
            claim_tune_dir(run_dir, study=plan.name, resume=resume, storage=url)
        except BaseException:
            store.close()  # type: ignore[union-attr]
            raise
    writer = None if sync else BackgroundStore(open_store, space)
    open_seconds = time.perf_counter() - t_open
    local: dict[int, tuple[dict, float]] = {}  # this process's trials: params, score

    def record(rows: list[dict[str, Any]]) -> float:
        for r in rows:
            local[int(r["index"])] = (r["params"], r["val_score"])
        if store is not None:
            return store.write(space, rows)
        writer.submit(rows)  # type: ignore[union-attr]
        return 0.0

    # the time budget counts from here (setup excluded); the first population always
    # starts; inside a population the TimeBudget callback stops the members at the deadline
    deadline = time.time() + s.time_budget if s.time_budget is not None else None
    ran = 0

    def past_deadline() -> bool:  # no population starts after it (the first always does)
        return deadline is not None and ran > 0 and time.time() > deadline

    # populations that run side by side share the memory budget
    budget_bytes = s.memory_budget_mb * 2**20 / getattr(runner_executor, "concurrency", 1)
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
                i: (decode_params(space, t.params), _value(t)) for i, t in store.finished().items()
            }
        known.update(local)
        history = [known.get(i, ({}, float("nan"))) for i in range(lo)]
        if strategy.adaptive:
            history = [h for h in history if h[0]]
        suggestions = strategy.suggest(space, history, n, _rng(s.seed, round_))
        indices = [lo + j for j in range(len(suggestions))]
        if not suggestions:
            return False
        mine = store.claim(indices) if store is not None else indices
        configs, ok_idx, failed = {}, [], []
        for i in mine:
            p = suggestions[i - lo]
            try:
                cfg = validate_config(space.apply(plan.base, p), "search")
                _check_config(cfg, data.task)
                configs[i] = cfg
                ok_idx.append(i)
            except CaviarError as e:
                failed.append(_failed_record(i, round_, p, str(e)))
        if failed:
            storage_seconds += record(failed)
            n_done += len(failed)
        cfg_list = [configs[i] for i in ok_idx]
        jobs = [
            PopulationJob(
                [ok_idx[j] for j in pop],
                [cfg_list[j] for j in pop],
                _callbacks(plan, _population_seed(plan, [ok_idx[j] for j in pop]), deadline),
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
                rows = [_failed_record(i, round_, suggestions[i - lo], error) for i in idx]
                storage_seconds += record(rows)
                n_done += len(rows)
                if on_progress is not None:
                    on_progress({"done": n_done, "total": total, "best": best_trial})
                continue
            pbt = _pbt_record(plan, _population_seed(plan, idx))
            rows = [
                _trial_record(i, round_, suggestions[i - lo], r, idx, pbt)
                for i, r in zip(idx, recs, strict=True)
            ]
            storage_seconds += record(rows)
            for i, r, row in zip(idx, recs, rows, strict=True):
                if r.pbt_log:  # the final model and its refit use the final values
                    r.member.config = validate_config(space.apply(plan.base, row["params"]))
                kept[i] = r
                r.row = row  # type: ignore[attr-defined]
            _trim(kept, keep_n)
            n_done += len(rows)
            scores = [r["val_score"] for r in rows if math.isfinite(r["val_score"])]
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
        trials = store.finished_records()
        # gaps: indices of the trial budget another process claimed, then left unfinished
        # (killed, or it skipped them at its time budget) after this one had passed them
        done = {int(t["index"]) for t in trials}
        gaps = []
        if total is not None and progress and not past_deadline():
            gaps = [i for i in range(min(total, round_ * batch)) if i not in done]
        if not gaps:
            break
        run_round(gaps[0] // batch)
        # no progress (e.g. the budget stopped every population): read once more, stop
        progress = len(store.finished_indices()) > len(done)
    trials = sorted(trials, key=_rank_key)
    store.close()
    storage_seconds += time.perf_counter() - t_read
    usable = [
        t
        for t in trials
        if t["status"] in ("complete", "early_stopped", "pruned")
        and t.get("val_score") is not None
        and math.isfinite(t["val_score"])
    ]
    if not usable:
        raise CaviarError("no trial finished with a finite validation score")
    best = usable[0]
    chosen = [t for t in usable if t.get("structure") == best.get("structure")][:keep_n]
    records, rebuilt = _records_for(chosen, kept, plan, space, data, trials)
    if s.refit == "train_val":
        records = refit_mod.refit_train_val(records, data)
    val_score = float(best["val_score"])
    metrics = {"val_score": val_score, "best_index": best["index"], "refit": s.refit}
    if rebuilt:
        metrics["rebuilt"] = {str(i): h for i, h in rebuilt.items()}
    model = refit_mod.model_from_records(records, data, metrics)
    test = refit_mod.test_score(model, data)
    model.metrics["test_score"] = test
    base = naive_baseline(data)
    diag = verdict(float(best["train_score"]), val_score, base["val_score"])
    counts = {k: 0 for k in ("complete", "pruned", "diverged", "failed")}
    for t in trials:
        key = "complete" if t["status"] == "early_stopped" else t["status"]
        counts[key] = counts.get(key, 0) + 1
    return TuneResult(
        plan=plan,
        trials=trials,
        best=best,
        model=model,
        val_score=val_score,
        test_score=test,
        counts=counts,
        seconds=time.perf_counter() - start,
        storage_seconds=storage_seconds,
        storage_busy_seconds=busy if busy is not None else storage_seconds,
        baseline=base,
        verdict=diag,
        trace=trial_trace,
        epoch_trace=trace,
        storage_url=url,
        task=data.task,
        rebuilt=rebuilt,
    )


def _prewarm_storage_imports() -> None:
    """Import Optuna's RDB storage (SQLAlchemy, Alembic) in a thread while the data loads:
    it only imports modules, so a run that fails validation still writes nothing."""

    def work() -> None:
        try:
            import optuna.storages._rdb.models  # noqa: F401
            import optuna.storages._rdb.storage  # noqa: F401
        except Exception:  # noqa: BLE001 - the real open reports errors
            pass

    threading.Thread(target=work, daemon=True).start()


def _rng(seed: int, round_: int) -> np.random.Generator:
    return np.random.default_rng([seed, round_])


def _value(t) -> float:
    return float(t.value) if t.value is not None else float("nan")


def _trim(kept: dict[int, MemberRecord], n: int) -> None:
    """Keep the weights of the best trials per structure only (bounded memory)."""
    by_structure: dict[str, list[int]] = {}
    for i, r in kept.items():
        by_structure.setdefault(structure_key(r.member.config), []).append(i)
    for ids in by_structure.values():
        ids.sort(key=lambda i: _rank_key(kept[i].row))  # type: ignore[attr-defined]
        for i in ids[n:]:
            del kept[i]


def _records_for(
    chosen, kept, plan, space, data, trials=()
) -> tuple[list[MemberRecord], dict[int, str]]:
    """Weights of the chosen trials: from memory, or trained again from their stored
    records (``caviar.tune.rebuild``: alone for ``epochs_run`` epochs, or the whole PBT
    population replayed); ``trials``: every finished trial of the study. Returns the
    records and how each trial not in memory was rebuilt."""
    missing = [t for t in chosen if t["index"] not in kept]
    how: dict[int, str] = {}
    if missing:
        by_index = {int(t["index"]): t for t in [*trials, *chosen]}
        recs, how = rebuild(missing, by_index, plan.base, space, data)
        for t, r in zip(missing, recs, strict=True):
            kept[t["index"]] = r
    return [kept[t["index"]] for t in chosen], how
