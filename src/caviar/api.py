"""The Python API: configurations in, per-member histories and models out.

    >>> import caviar
    >>> run = caviar.train({"data": {"source": "iris"},
    ...                     "optimizer": {"name": "adam", "lr": [1e-3, 1e-2]},
    ...                     "train": {"epochs": 20}})
    >>> run.best.val_score, run.test_score         # doctest: +SKIP
    >>> run.best_model.predict(X)                   # doctest: +SKIP

Configurations that share their structure train as one population; each member's
history is in ``run.members[i].history``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caviar.arguments import check_changes, check_path, check_prepared, check_train_callbacks
from caviar.config import RunConfig, expand_configs, load_configs
from caviar.config.module_factory import with_factory
from caviar.data import PreparedData, TableOptions, prepare_data
from caviar.errors import CaviarError
from caviar.live_dir import append_progress
from caviar.model import TrainedModel
from caviar.nn.factory import register
from caviar.training.build import DTYPES
from caviar.training.callbacks import Callback, epoch_hook, population_end
from caviar.training.cross_validation import fold_rows, train_cross_validated
from caviar.training.ensemble import build_ensemble, model_scores
from caviar.training.evaluate import evaluate
from caviar.training.full_batch import is_full_batch, train_full_batch
from caviar.training.live import live_callbacks
from caviar.training.population import group_by_structure
from caviar.training.refit import refit
from caviar.training.result import MemberResult, PopulationResult, rank_members
from caviar.training.splits import split_tensors
from caviar.training.trainer import EpochCallback, train_population
from caviar.training.weights import split_weights


@dataclass
class TrainRun:
    """The outcome of :func:`train`: every member, ranked, and the best model."""

    data: PreparedData
    populations: list[PopulationResult]
    members: list[MemberResult]  # ranked, best first; ``index`` is the config's position
    best_model: TrainedModel
    test_loss: float
    test_score: float
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def best(self) -> MemberResult:
        return self.members[0]


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


def load_data_for(configs: list[RunConfig]) -> PreparedData:
    """Prepare the one data set that all ``configs`` name."""
    data_cfg = configs[0].data
    if any(c.data != data_cfg for c in configs[1:]):
        raise CaviarError("all configurations of one run must use the same [data] section")
    return prepare_data(
        data_cfg.source,
        target=data_cfg.target,
        task=data_cfg.task,
        val_fraction=data_cfg.val_fraction,
        test_fraction=data_cfg.test_fraction,
        seed=data_cfg.seed,
        shape=data_cfg.shape,
        weight=data_cfg.weight,
        test=data_cfg.test,
        options=TableOptions.from_config(data_cfg),
    )


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
    callbacks: Sequence[Callback] = (),
    live_dir: str | Path | None = None,
    changes: list[dict] | None = None,
) -> TrainRun:
    """Train every configuration ``config`` lists; one population per structure.

    ``callbacks``: :class:`caviar.training.callbacks.Callback` objects (Keras's hook
    names ``on_epoch_end(epoch, logs)``, ``on_population_end(logs)``; ``logs.stop(...)``
    stops members).

    ``on_epoch(population, epoch, epochs, alive, best_val_score)`` is called after
    every epoch (progress reporting). The test split is evaluated once, for the
    best member only (validation discipline, seeds 003 and 004). ``live_dir``: write
    progress there and apply ``caviar set`` commands between epochs; ``changes``: replay
    a run's recorded changes (:mod:`caviar.training.live`).

    ``module``: a factory ``module(model_cfg) -> torch.nn.Module`` to train populations
    of that module instead of the configured MLP (:mod:`caviar.nn.factory`; the same as
    ``model.kind = "module"`` with ``model.factory`` its import path).
    """
    import time

    start = time.perf_counter()
    callbacks = check_train_callbacks(callbacks)
    changes = check_changes(changes)
    live_dir = check_path("live_dir", live_dir)
    if module is not None:
        config = with_factory(config, register(module))
    configs, data = prepare(config, data)
    populations, members = [], []
    groups = group_by_structure(configs)
    _check_ensemble(configs, groups)
    for g, group in enumerate(groups):
        cb: EpochCallback | None = None
        if on_epoch is not None:

            def cb(epoch, epochs, alive, best, g=g):  # noqa: ANN001
                on_epoch(g, epoch, epochs, alive, best)

        members_cfg = [configs[i] for i in group]
        runner = train_full_batch if is_full_batch(members_cfg[0]) else train_population
        cv = members_cfg[0].train.cv  # configurations x folds, then the refit
        runner = train_cross_validated if cv is not None else runner
        rows = fold_rows(group, cv or 1)  # a row per fold under train.cv
        controls = live_callbacks(rows, g, live_dir, changes, folds=cv or 1)
        hooks = [epoch_hook(callbacks, g, rows)] if callbacks else []
        result = runner(members_cfg, data, on_epoch=cb, callbacks=[*controls, *hooks])
        refit_cfg = configs[group[0]].refit
        if refit_cfg.strategy != "none" and cv is None:
            refitted = refit(result, data, refit_cfg.strategy, max_epochs=refit_cfg.max_epochs)
            result.model = refitted.model
            for m, r in zip(result.members, refitted.members, strict=True):
                m.refit_epochs = r.epochs_run
        for m, idx in zip(result.members, group, strict=True):
            m.index, m.population = idx, len(populations)
            m.changes = [c for cb_ in controls for c in cb_.changes_for(idx)]
        population_end(callbacks, g, result)
        populations.append(result)
        members.extend(result.members)
    if live_dir is not None:
        append_progress(Path(live_dir), {"done": True})
    ranked = rank_members(members)
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
    else:
        test_loss, test_score = _test_metrics(populations[pop_i], member_i, data)
        metrics = {**best.summary(), "test_loss": test_loss, "test_score": test_score}
        best_model = TrainedModel.from_population(populations[pop_i], [member_i], data, metrics)
    return TrainRun(
        data=data,
        populations=populations,
        members=ranked,
        best_model=best_model,
        test_loss=test_loss,
        test_score=test_score,
        seconds=time.perf_counter() - start,
    )


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
    )
    return float(loss[0]), float(score[0])


__all__ = ["TrainRun", "as_configs", "load_data_for", "train"]
