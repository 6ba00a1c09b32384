"""The Python API: configurations in, per-member histories and models out.

    >>> import caviar
    >>> run = caviar.train({"data": {"source": "iris"},
    ...                     "optimizer": {"name": "adam", "lr": [1e-3, 1e-2]},
    ...                     "train": {"epochs": 20}})
    >>> len(run.members), run.members[0] is run.best    # ranked, best first
    (2, True)
    >>> 0.0 <= run.test_score <= 1.0                     # accuracy on the test split
    True
    >>> run.best_model.predict(run.data.X_test[:4], preprocessed=True).shape
    (4,)

Configurations that share their structure train as one population; each member's
history is in ``run.members[i].history``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caviar.arguments import check_changes, check_path, check_prepared, check_train_callbacks
from caviar.config import RunConfig, expand_configs, load_configs
from caviar.config.module_factory import with_factory
from caviar.data import PreparedData
from caviar.data.config_data import load_data_for
from caviar.errors import CaviarError
from caviar.live_dir import append_progress
from caviar.model import TrainedModel
from caviar.nn.factory import register
from caviar.progress import epoch_progress, logger
from caviar.results.view import ResultView
from caviar.training.build import DTYPES
from caviar.training.callbacks import Callback, population_end, user_hooks
from caviar.training.cross_validation import fold_rows, train_cross_validated
from caviar.training.ensemble import build_ensemble, model_scores
from caviar.training.evaluate import evaluate
from caviar.training.full_batch import is_full_batch, train_full_batch
from caviar.training.hooks import Hook, HookState, notify, population_hooks
from caviar.training.live import live_callbacks
from caviar.training.population import group_by_structure
from caviar.training.refit import refit
from caviar.training.result import (
    MemberResult,
    PopulationResult,
    member_trial,
    rank_members,
    varied_params,
)
from caviar.training.scoring import target_scale
from caviar.training.splits import split_tensors
from caviar.training.trainer import train_population
from caviar.training.weights import split_weights
from caviar.trial import Trial


@dataclass(repr=False)
class TrainRun(ResultView):
    """The outcome of :func:`train`: every member, ranked, and the best model.

    ``members`` are the :class:`~caviar.training.result.MemberResult` s (config, history,
    diagnostics) and ``trials`` the same members as :class:`caviar.trial.Trial` records
    (both ranked best first); :class:`caviar.results.ResultView` adds
    ``trials_dataframe()``, ``best_params``, ``history``, ``study``, ``plot_*`` and
    ``report()``.
    """

    data: PreparedData
    populations: list[PopulationResult] = field(repr=False)
    members: list[MemberResult] = field(repr=False)  # ranked, best first
    best_model: TrainedModel = field(repr=False)
    test_loss: float = float("nan")
    test_score: float = float("nan")
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
    trials: list[Trial] = field(default_factory=list)  # the members' records, ranked
    run_dir: Path | None = None  # where ``out=`` wrote the run, if anywhere
    outputs: dict[str, Any] = field(default_factory=dict)  # the summary written, if any

    kind = "train"

    @property
    def best(self) -> MemberResult:
        return self.members[0]

    @property
    def best_trial(self) -> Trial:
        """The best member's :class:`~caviar.trial.Trial`."""
        return self.trials[0]


def as_configs(config: RunConfig | dict | list | str | Path) -> list[RunConfig]:
    """Accept a RunConfig, a dict (possibly a grid), a list of those, or a TOML path."""
    if isinstance(config, RunConfig):
        return [config]
    if isinstance(config, (str, Path)):
        return load_configs(config)
    if isinstance(config, dict):
        return expand_configs(config)
    if isinstance(config, list):
        out: list[RunConfig] = []
        for c in config:
            out.extend(as_configs(c))
        return out
    raise CaviarError(f"cannot use a {type(config).__name__} as a configuration")


def check_configs(configs: list[RunConfig], data: PreparedData) -> None:
    """Validate every configuration against the data before any training starts.

    Catches unknown losses/optimizers/schedules, a loss for the wrong task, and
    hyperparameters an optimizer does not have, so a bad config fails at once.
    """
    from caviar.schedules import SCHEDULES
    from caviar.training.build import check_module
    from caviar.training.folds import check_fold_config, check_fold_data
    from caviar.training.full_batch import check_full_batch_config
    from caviar.training.population import optimizer_hypers, resolve_loss_name, structure_key
    from caviar.training.scoring import get_metric

    checked_structures: set[str] = set()
    for cfg in configs:
        resolve_loss_name(cfg, data.task)
        get_metric(cfg.train.metric, data.task)
        check_fold_config(cfg)
        check_fold_data(cfg, data)
        if cfg.model.kind != "mlp" and structure_key(cfg) not in checked_structures:
            check_module(cfg, data)  # the factory builds a module that fits the data
            checked_structures.add(structure_key(cfg))
        if is_full_batch(cfg):
            check_full_batch_config(cfg)
        else:
            optimizer_hypers(cfg)
        if cfg.schedule.name not in SCHEDULES:
            raise CaviarError(
                f"unknown schedule '{cfg.schedule.name}' (choose from: {', '.join(SCHEDULES)})"
            )


def prepare(
    config: RunConfig | dict | list | str | Path, data: PreparedData | None = None
) -> tuple[list[RunConfig], PreparedData]:
    """Configurations and data of a run, all validated (nothing trained yet)."""
    check_prepared(data)
    configs = as_configs(config)
    if not configs:
        raise CaviarError("no configurations to train")
    data = data if data is not None else load_data_for(configs)
    check_configs(configs, data)
    return configs, data


def train(
    config: RunConfig | dict | list | str | Path,
    *,
    data: PreparedData | None = None,
    on_epoch: Callable[[int, int, int, int, float], None] | None = None,
    module: Callable | None = None,
    callbacks: Sequence[Callback | Hook] = (),
    live_dir: str | Path | None = None,
    changes: list[dict] | None = None,
    verbose: int = 1,
    out: str | Path | None = None,
    overwrite: bool = False,
) -> TrainRun:
    """Train every configuration ``config`` lists; one population per structure.

    Parameters
    ----------
    config : RunConfig, dict (lists of values make a grid), list or TOML path.
    data, module : prepared splits; a factory ``module(model_cfg) -> nn.Module``.
    on_epoch : ``on_epoch(population, epoch, epochs, alive, best_val_score)`` per epoch.
    callbacks : :class:`caviar.training.hooks.Hook` s (the protocol both trainers call)
        and/or Keras-style :class:`caviar.training.callbacks.Callback` s (``on_epoch_end``,
        ``on_population_end``, ``on_trial_complete`` with a :class:`caviar.trial.Trial`).
    live_dir, changes : panda mode (:mod:`caviar.training.live`).
    verbose : 1 draws a bar per population (:mod:`caviar.progress`), 0 nothing.
    out, overwrite : write the run directory ``caviar train`` writes
        (:mod:`caviar.results.outputs`); an existing one only with ``overwrite``.

    Returns
    -------
    TrainRun
        Every member ranked best first, the best model and its test score (the test
        split is evaluated once, for the best model only).

    Examples
    --------
    >>> run = caviar.train({"data": {"source": "iris"},
    ...                     "optimizer": {"lr": [1e-3, 1e-2]}}, verbose=0)  # doctest: +SKIP
    >>> run.best_params, run.trials_dataframe()  # doctest: +SKIP
    """
    import time

    start = time.perf_counter()
    hooks = user_hooks(check_train_callbacks(callbacks))  # Keras-style ones adapted
    changes = check_changes(changes)
    live_dir = check_path("live_dir", live_dir)
    out = check_path("out", out)
    if out is not None:
        from caviar.run_dir import check_new_output

        check_new_output(out, overwrite=overwrite, flag="overwrite=True")
    if module is not None:
        config = with_factory(config, register(module))
    configs, data = prepare(config, data)
    groups = group_by_structure(configs)
    _check_ensemble(configs, groups)
    labels = [
        (f"population {i + 1}/{len(groups)} (P={len(g)})", configs[g[0]].train.epochs)
        for i, g in enumerate(groups)
    ]
    with epoch_progress(labels, enabled=verbose > 0 and on_epoch is None) as bar:
        populations, members, trials = _train_groups(
            configs,
            groups,
            data,
            on_epoch or (bar if verbose > 0 else None),
            hooks,
            live_dir,
            changes,
        )
    if live_dir is not None:
        append_progress(Path(live_dir), {"done": True})
    run = _ranked_run(data, populations, members, trials, time.perf_counter() - start)
    logger.info("train done: best member %d, val %.4f", run.best.index, run.best.val_score)
    if out is not None:  # through the code caviar train uses (caviar.results.outputs)
        from caviar.results.outputs import write_train_outputs

        cfg_path = config if isinstance(config, (str, Path)) else None
        run.outputs = write_train_outputs(run, out, config=cfg_path, overwrite=overwrite)
        run.run_dir = Path(out)
    return run


def _ranked_run(data, populations, members, trials, seconds: float) -> TrainRun:
    """The :class:`TrainRun`: members and their records ranked, the best model tested."""
    ranked = rank_members(members)
    best_model, test_loss, test_score = _best_model(populations, ranked, data)
    order = {t.number: t for t in trials}
    return TrainRun(
        data=data,
        populations=populations,
        members=ranked,
        best_model=best_model,
        test_loss=test_loss,
        test_score=test_score,
        seconds=seconds,
        trials=[order[m.index] for m in ranked],
    )


def _train_groups(configs, groups, data, on_epoch, hooks, live_dir, changes):
    """Train every population in turn; returns the populations, their members and
    the members' :class:`~caviar.trial.Trial` records (``on_trial_complete`` each)."""
    params = varied_params(configs)
    populations, members, trials = [], [], []
    notify(hooks, "on_train_begin", HookState("train"))
    for g, group in enumerate(groups):
        result, pop_trials = _train_group(
            configs, group, g, data, on_epoch, hooks, live_dir, changes, params
        )
        population_end(hooks, g, result, pop_trials)
        populations.append(result)
        members.extend(result.members)
        trials.extend(pop_trials)
    notify(hooks, "on_train_end", HookState("train"))
    return populations, members, trials


def _train_group(configs, group, g, data, on_epoch, hooks, live_dir, changes, params):
    """Train population ``g`` (the configurations ``group``); returns its result (members
    numbered in the run) and their :class:`~caviar.trial.Trial` records."""
    import time

    started = time.time()
    cb = None if on_epoch is None else functools.partial(on_epoch, g)  # (epoch, ..., best)
    members_cfg = [configs[i] for i in group]
    runner = train_full_batch if is_full_batch(members_cfg[0]) else train_population
    cv = members_cfg[0].train.cv  # configurations x folds, then the refit
    runner = train_cross_validated if cv is not None else runner
    rows = fold_rows(group, cv or 1)  # a row per fold under train.cv
    controls = live_callbacks(rows, g, live_dir, changes, folds=cv or 1)
    bound = population_hooks(hooks, g, rows)  # the user's hooks, this population's state
    result = runner(members_cfg, data, on_epoch=cb, callbacks=[*controls, *bound])
    refit_cfg = configs[group[0]].refit
    if refit_cfg.strategy != "none" and cv is None:
        refitted = refit(result, data, refit_cfg.strategy, max_epochs=refit_cfg.max_epochs)
        result.model = refitted.model
        for m, r in zip(result.members, refitted.members, strict=True):
            m.refit_epochs = r.epochs_run
    for m, idx in zip(result.members, group, strict=True):
        m.index, m.population = idx, g
        m.changes = [c for cb_ in controls for c in cb_.changes_for(idx)]
    ended = time.time()
    trials = [member_trial(m, params[m.index], started, ended) for m in result.members]
    return result, trials


def _best_model(populations, ranked, data) -> tuple[TrainedModel, float, float]:
    """The best member's model (an ensemble when ``ensemble`` asks) and its test loss
    and score (the test split used once, for this model)."""
    best = ranked[0]
    pop_i, member_i = best.population, best.position
    ens = best.config.ensemble
    if ens.size > 1 or ens.snapshot_every is not None:
        best_model = build_ensemble(
            populations[pop_i],
            ranked,
            pop_i,
            data,
            size=ens.size,
            method=ens.method,
            snapshots=ens.snapshot_every is not None,
        )
        test_loss, test_score = _ensemble_test_metrics(best_model, data)
        best_model.metrics = {
            **best.summary(),
            "ensemble_members": best_model.n_members,
            "test_loss": test_loss,
            "test_score": test_score,
        }
        return best_model, test_loss, test_score
    test_loss, test_score = _test_metrics(populations[pop_i], member_i, data)
    metrics = {**best.summary(), "test_loss": test_loss, "test_score": test_score}
    model = TrainedModel.from_population(populations[pop_i], [member_i], data, metrics)
    return model, test_loss, test_score


def _check_ensemble(configs: list[RunConfig], groups: list[list[int]]) -> None:
    """Fail before training when a top-k ensemble cannot be built (k > a population)."""
    for group in groups:
        ens = configs[group[0]].ensemble
        if ens.snapshot_every is None and ens.size > len(group):
            raise CaviarError(
                f"ensemble.size {ens.size} is larger than the population of {len(group)} members"
            )


def _ensemble_test_metrics(model: TrainedModel, data: PreparedData) -> tuple[float, float]:
    if data.X_test is None or len(data.X_test) == 0:
        return float("nan"), float("nan")
    metric = model.configs[0]["train"].get("metric", "auto")
    return model_scores(model, data.X_test, data.y_test, metric)


def _test_metrics(result: PopulationResult, member: int, data: PreparedData) -> tuple[float, float]:
    """Loss and score of one member on the test split (nan when there is none)."""
    if data.X_test is None or len(data.X_test) == 0:
        return float("nan"), float("nan")
    cfg = result.members[member].config
    dtype = DTYPES[cfg.train.dtype]
    x, y = split_tensors(data.task, data.X_test, data.y_test, dtype, cfg.train.device)
    row = result.model.flat.detach()[member : member + 1]
    stats = result.model.stats[member : member + 1]
    hypers = {k: v[member : member + 1] for k, v in result.knobs.loss.items()}
    slope = result.knobs.leaky_slope[member : member + 1]
    loss, score = evaluate(
        result.model,
        x,
        y,
        loss_name=result.loss_name,
        loss_hypers=hypers,
        slope=slope,
        flat=row,
        stats=stats,
        metric=cfg.train.metric,
        weight=split_weights(cfg.train.class_weight, data, "test", dtype, cfg.train.device),
        target_scale=target_scale(data),
    )
    return float(loss[0]), float(score[0])


__all__ = ["TrainRun", "as_configs", "load_data_for", "train"]
