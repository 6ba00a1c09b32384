"""``caviar.tune(config)`` and ``caviar tune``: validate, connect, search.

:func:`tune` reads and validates the plan (:func:`caviar.tuning.plan.make_plan`),
the data and the first round of configurations, connects the executor
(:func:`caviar.tuning.dispatch.make_executor`) before anything is written, and runs
the search loop (:func:`caviar.tuning.search.run_search`), giving each population
its trainer callbacks (:func:`_callbacks`: successive halving or PBT, then the
time budget). ``--resume`` continues the study only with the configuration it was
run with and the same prepared data (:mod:`caviar.tuning.identity`); the trial and
time budgets, the refit and the ensemble size may change.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeGuard

from caviar.api import load_data_for
from caviar.arguments import check_path, check_prepared
from caviar.config import validate_config
from caviar.config.module_factory import with_factory
from caviar.data import PreparedData
from caviar.nn.factory import register
from caviar.progress import logger, trial_progress
from caviar.run_dir import read_marker
from caviar.training.callbacks import Callback
from caviar.training.folds import check_fold_data
from caviar.training.hooks import Hook
from caviar.tuning.cross_validation import CrossValidatedExecutor
from caviar.tuning.dispatch import ExecutorSpec, make_executor
from caviar.tuning.final_model import TuneResult
from caviar.tuning.halving import SuccessiveHalving
from caviar.tuning.objectives import check_objectives_task
from caviar.tuning.pbt import PopulationBasedTraining
from caviar.tuning.plan import TunePlan, check_config, make_plan
from caviar.tuning.search import Progress, SearchContext, round_rng, run_search
from caviar.tuning.strategies import Strategy, batch_size, make_strategy
from caviar.tuning.time_budget import TimeBudget
from caviar.tuning.tune_callbacks import TuneHooks
from caviar.tuning.warm_start import load_prior

# the search's public names where callers import them from (caviar.tune re-exports them)
__all__ = ["TunePlan", "TuneResult", "make_plan", "tune"]


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
    module: Callable | None = None,
    outputs: bool = True,
    callbacks: Sequence[Hook | Callback | Callable] = (),
    live_dir: str | Path | None = None,
    verbose: int = 1,
) -> TuneResult:
    """Run (or resume) a search; returns the ranked trials and the final model.

    Parameters
    ----------
    config : a TOML path or a dict with a ``[search]`` section.
    out, outputs : the run directory (default ``runs/<study name>``; default storage
        ``sqlite:///<out>/study.db``); with ``outputs`` also the model, leaderboard,
        summary and report (:mod:`caviar.results.outputs`; ``TuneResult.outputs``).
    storage, resume : the Optuna storage URL; continue its study (same search only).
    overrides : config keys, dotted (``{"train.epochs": 5}``) or ``[search]`` settings
        (``{"trials": 8}``; :func:`caviar.tuning.plan.apply_overrides`).
    on_progress, on_epoch, plan : progress hooks; an already made :class:`TunePlan`.
    executor, data, module : ``"local"``, ``"ray"`` or an :class:`ExecutorSpec`; splits;
        a factory ``module(model_cfg) -> nn.Module``.
    callbacks, live_dir : :class:`~caviar.training.hooks.Hook` s (the protocol
        :func:`caviar.train` calls too), Keras-style :class:`Callback` s and/or Optuna-style
        ``fn(study, trial)`` (:mod:`caviar.tuning.tune_callbacks`); panda mode
        (:mod:`.live_tune`).
    verbose : int
        1 draws a bar over the trials (done / total, best, ETA) unless ``on_progress``
        is given, 0 nothing; the ``caviar`` logger gets the messages.

    Returns
    -------
    TuneResult
        The ranked trials, the final model and its scores (``trials_dataframe()``,
        ``best_params``, ``study``, ``plot_*``, ``report()``).

    Examples
    --------
    >>> caviar.tune("examples/tune_digits.toml", verbose=0).best_params  # doctest: +SKIP
    """
    start = time.perf_counter()
    out, live_dir = check_path("out", out), check_path("live_dir", live_dir)
    check_prepared(data)
    if module is not None:  # a factory: the config names it (model.kind = "module")
        out = Path("runs") / Path(config).stem if out is None and _is_path(config) else out
        config = with_factory(config, register(module))
    _prewarm_storage_imports()
    plan = _resumed_name(plan or make_plan(config, overrides), out, resume)
    base_cfg = validate_config(plan.base)
    data = _search_data(base_cfg, data)
    strategy, total, batch = _budget(plan, data)
    hooks, runner_executor = _connect(base_cfg, executor, callbacks, live_dir)
    hooks.begin()  # on_train_begin
    try:
        result = _run_with_bar(
            verbose, plan=plan, data=data, strategy=strategy, total=total, batch=batch,
            out=out, storage=storage, resume=resume, on_progress=on_progress,
            on_epoch=on_epoch, start=start, executor=runner_executor,
            callbacks=functools.partial(_callbacks, plan), hooks=hooks,
        )  # fmt: skip
    finally:
        runner_executor.close()
    hooks.done()
    logger.info("search %s done: best val %.4f", plan.name, result.val_score)
    if outputs:  # the CLI's outputs (caviar.results.outputs sits above tuning/)
        from caviar.results.outputs import write_tune_outputs

        result.outputs = write_tune_outputs(result, result.run_dir)
    return result


def _run_with_bar(verbose: int, **fields: Any) -> TuneResult:
    """:func:`run_search` of a :class:`SearchContext` made of ``fields``, with the trial
    bar when ``verbose`` and the caller gave no ``on_progress`` of its own (the bar
    appears when the first population starts training)."""
    show = verbose > 0 and fields["on_progress"] is None
    with trial_progress(fields["total"], enabled=show) as bar:
        plan = fields["plan"]
        logger.info("search %s: %s trials, %s", plan.name, fields["total"], plan.settings.strategy)
        fields["on_progress"] = fields["on_progress"] or bar
        fields["on_epoch"] = fields["on_epoch"] or (lambda *a: bar.start())
        return run_search(SearchContext(**fields))


def _resumed_name(plan: TunePlan, out, resume: bool) -> TunePlan:
    """A --resume of a dict config named by its hash continues the study its run
    directory recorded (``run.json``): a changed configuration is then refused by the
    identity check instead of starting another study beside it."""
    if not (resume and plan.hashed_name and out is not None):
        return plan
    recorded = (read_marker(Path(out)) or {}).get("study")
    return dataclasses.replace(plan, name=recorded) if isinstance(recorded, str) else plan


def _is_path(config: object) -> TypeGuard[str | Path]:
    return isinstance(config, (str, Path))


def _connect(base_cfg, executor, callbacks, live_dir) -> tuple[TuneHooks, Any]:
    """The search's hooks and its executor, connected before anything is written
    (``search.cv``: configurations x folds per population)."""
    executor_name = getattr(executor, "name", executor) or "local"
    hooks = TuneHooks(
        callbacks, live_dir=live_dir, executor=executor_name, folds=base_cfg.train.cv or 1
    )
    runner_executor = make_executor(executor)  # connects before anything is written
    if base_cfg.train.cv is not None:
        runner_executor = CrossValidatedExecutor(runner_executor, base_cfg.train.cv)
    return hooks, runner_executor


def _search_data(base_cfg, data: PreparedData | None) -> PreparedData:
    """The splits a search runs on: the config's data section, or ``data`` as given."""
    if data is None:
        data = load_data_for([base_cfg])
    check_fold_data(base_cfg, data, "search.cv")  # enough rows of every class for k folds
    return data


def _budget(plan: TunePlan, data: PreparedData) -> tuple[Strategy, int | None, int]:
    """The strategy, the trial budget (None: until the time budget) and the round size;
    the first round's configurations are validated before anything is written."""
    s, space = plan.settings, plan.space
    strategy = make_strategy(s, load_prior(s.warm_start, space) if s.warm_start else None)
    grid_size = strategy.size(space)
    total = s.trials if s.trials is not None else (grid_size if grid_size else None)
    if grid_size is not None and total is not None:
        total = min(total, grid_size)
    batch = batch_size(s) if grid_size is None else min(batch_size(s), total or grid_size)
    check_objectives_task(s, data.task)  # search.objectives: metrics of this task
    first = strategy.suggest(space, [], min(batch, total or batch), round_rng(s.seed, 0))
    for p in first:
        check_config(validate_config(space.apply(plan.base, p), "search"), data.task)
    return strategy, total, batch


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
