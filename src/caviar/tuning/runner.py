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

import functools
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from caviar.api import load_data_for
from caviar.arguments import check_path, check_prepared
from caviar.config import validate_config
from caviar.config.module_factory import with_factory
from caviar.data import PreparedData
from caviar.nn.factory import register
from caviar.training.callbacks import Callback
from caviar.training.folds import check_fold_data
from caviar.tuning.cross_validation import CrossValidatedExecutor
from caviar.tuning.dispatch import ExecutorSpec, make_executor
from caviar.tuning.final_model import TuneResult
from caviar.tuning.halving import SuccessiveHalving
from caviar.tuning.pbt import PopulationBasedTraining
from caviar.tuning.plan import TunePlan, check_config, make_plan
from caviar.tuning.search import Progress, SearchContext, round_rng, run_search
from caviar.tuning.strategies import batch_size, make_strategy
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
    callbacks: Sequence[Callable | Callback] = (),
    live_dir: str | Path | None = None,
) -> TuneResult:
    """Run (or resume) a search; returns the ranked trials and the final model.

    ``out`` is the run directory (default ``runs/<config name>``); the default
    storage is ``sqlite:///<out>/study.db``. With ``outputs`` (the default, as
    ``caviar tune``) the run directory then gets the CLI's outputs too
    (``caviar.tuning.output.write_outputs``: model, leaderboard, summary, report;
    ``TuneResult.outputs`` is the summary written). ``executor``
    (``"local"``, ``"ray"`` or an :class:`ExecutorSpec`) says where populations
    run (``caviar.tuning.dispatch``, :mod:`caviar.tuning.executor_protocol`); it connects
    before anything is written.
    ``data``: already prepared splits (``caviar.data.prepare_data`` /
    ``prepare_arrays``) to search on instead of loading the config's ``data`` section
    (a ``--resume`` must then be given the same data again). ``module``: a factory
    ``module(model_cfg) -> nn.Module`` whose populations are searched instead of MLPs
    (as ``model.kind = "module"`` with ``model.factory``; :mod:`caviar.nn.factory`).
    ``callbacks``: Optuna-style ``fn(study, trial)`` called with the Optuna study and
    each finished trial's ``FrozenTrial`` as soon as it is stored
    (:mod:`caviar.tuning.trial_callbacks`), and/or Keras-style
    :class:`~caviar.training.callbacks.Callback` objects (``on_epoch_end`` with the
    trials' per-member logs, able to stop them; ``on_population_end``;
    ``on_trial_complete`` with the stored ``FrozenTrial``;
    :mod:`caviar.tuning.tune_callbacks`). ``live_dir``: panda mode, write progress there
    and apply ``caviar set --trial`` commands between epochs
    (:mod:`caviar.tuning.live_tune`; ``caviar tune`` uses ``RUN_DIR.live``).
    """
    start = time.perf_counter()
    out, live_dir = check_path("out", out), check_path("live_dir", live_dir)
    check_prepared(data)
    if module is not None:
        if out is None and isinstance(config, (str, Path)):
            out = Path("runs") / Path(config).stem
        config = with_factory(config, register(module))
    _prewarm_storage_imports()
    plan = plan or make_plan(config, overrides)
    s, space = plan.settings, plan.space
    base_cfg = validate_config(plan.base)
    if data is None:
        data = load_data_for([base_cfg])
    check_fold_data(base_cfg, data, "search.cv")  # enough rows of every class for k folds
    strategy = make_strategy(s, load_prior(s.warm_start, space) if s.warm_start else None)
    grid_size = strategy.size(space)
    total = s.trials if s.trials is not None else (grid_size if grid_size else None)
    if grid_size is not None and total is not None:
        total = min(total, grid_size)
    batch = batch_size(s) if grid_size is None else min(batch_size(s), total or grid_size)
    # validate the first round of configurations before anything is written
    first = strategy.suggest(space, [], min(batch, total or batch), round_rng(s.seed, 0))
    for p in first:
        check_config(validate_config(space.apply(plan.base, p), "search"), data.task)

    executor_name = getattr(executor, "name", executor) or "local"
    folds = base_cfg.train.cv or 1
    hooks = TuneHooks(callbacks, live_dir=live_dir, executor=executor_name, folds=folds)
    runner_executor = make_executor(executor)  # connects before anything is written
    if base_cfg.train.cv is not None:  # search.cv: configurations x folds per population
        runner_executor = CrossValidatedExecutor(runner_executor, base_cfg.train.cv)
    try:
        result = run_search(
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
                callbacks=functools.partial(_callbacks, plan),
                hooks=hooks,
            )
        )
    finally:
        runner_executor.close()
    hooks.done()
    if outputs:
        from caviar.tuning.output import write_outputs

        result.outputs = write_outputs(result, Path(out) if out else Path("runs") / plan.name)
    return result


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
