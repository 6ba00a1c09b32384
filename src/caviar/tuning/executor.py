"""Running sampled configurations as populations under a memory budget.

Configurations that share their structure (``group_by_structure``) train as one
population; a group larger than the memory budget allows is split into equal
parts. The bytes of one member are estimated as

    itemsize * (N * (4 + S) + 3 * B * W)

with ``N`` parameters per member (weights, gradient, best weights, optimizer
scratch, plus ``S`` optimizer buffers: 2 for Adam), ``B`` the batch size and
``W`` the sum of layer widths (pre-activations, activations and their
gradients); evaluation is chunked separately (``caviar.training.evaluate``). A
population of ``P`` members needs ``P`` times that, so
``P_max = budget // member_bytes``.

Each population runs epoch by epoch with the search's callbacks (successive
halving, PBT, the time budget); when half of its rows have stopped it is compacted to the live
ones (``caviar.tuning.compact``), so pruning saves compute. A full-batch method
(``gd``, ``gd_linesearch``, ``newton``, ``bfgs``, ``lbfgs``) runs its whole population
with :class:`caviar.training.full_batch.FullBatchTrainer` instead (one iteration an
epoch, no compaction; ``B`` is the training set and ``S`` counts its curvature memory:
``N`` for the ``N x N`` matrix of Newton and BFGS, ``2 * history_size`` for L-BFGS); a
member that met its stopping rule is recorded as ``converged``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from caviar.config import RunConfig
from caviar.model import network as networks
from caviar.openmp import load_aware
from caviar.optim import OPTIMIZERS
from caviar.training.build import DTYPES, module_size, n_outputs
from caviar.training.collect import collect_results
from caviar.training.full_batch import FullBatchTrainer, is_full_batch
from caviar.training.population import group_by_structure, resolve_loss_name
from caviar.training.result import MemberResult
from caviar.training.trainer import PopulationTrainer
from caviar.tuning.compact import compact


def member_bytes(cfg: RunConfig, n_features: int, n_out: int, n_train: int, data=None) -> int:
    """Estimated training memory of one member (see the module docstring); a generic
    module's parameter and activation counts come from building one member (``data``)."""
    if cfg.model.kind == "mlp" or data is None:
        sizes = [n_features, *cfg.model.hidden, n_out]
        n = sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
        activations = sum(sizes)
    else:
        n, activations = module_size(cfg, data, n_out)
    full = cfg.train.batch_size == "full" or is_full_batch(cfg)
    batch = n_train if full else min(int(cfg.train.batch_size), n_train)
    opt = OPTIMIZERS.get(cfg.optimizer.name)
    buffers = len(getattr(opt, "state_names", ())) if opt is not None else 2
    if cfg.optimizer.name in ("newton", "bfgs"):
        buffers = n  # one N x N matrix per member
    elif cfg.optimizer.name == "lbfgs":
        buffers = 2 * (cfg.optimizer.history_size or 10)  # the (s, y) pairs kept
    itemsize = torch.empty((), dtype=DTYPES[cfg.train.dtype]).element_size()
    return itemsize * (n * (4 + buffers) + 3 * batch * activations)


def plan_populations(
    configs: list[RunConfig], data, budget_bytes: float, max_population: int = 512
) -> list[list[int]]:
    """Indices of ``configs`` grouped by structure, each group split to fit the budget."""
    out = []
    for group in group_by_structure(configs):
        cfg = configs[group[0]]
        k = n_outputs(data, resolve_loss_name(cfg, data.task))
        each = member_bytes(cfg, data.X_train.shape[1], k, len(data.X_train), data)
        cap = max(1, min(max_population, int(budget_bytes // max(each, 1))))
        parts = math.ceil(len(group) / cap)
        out.extend(np.array_split(np.array(group), parts))
    return [[int(i) for i in part] for part in out]


@dataclass
class MemberRecord:
    """A finished member: what the storage keeps plus its weights for the final model."""

    member: MemberResult
    weights: dict[str, torch.Tensor]
    sizes: list[int]
    activation: str
    loss_name: str
    leaky_slope: float
    loss_hypers: dict[str, float]
    final_hypers: dict[str, float] = field(default_factory=dict)
    pbt_log: list[dict[str, Any]] = field(default_factory=list)
    stopped_by: str | None = None  # "time_budget": finished early by the search's budget
    network: dict[str, Any] | None = None  # a generic module's description (model.network)
    started: float = 0.0  # time.time() when its population started (members start together)
    ended: float = 0.0  # time.time() at the end of its last epoch (when it stopped)
    changes: list[dict[str, Any]] = field(default_factory=list)  # caviar set (live_tune)


def _records(
    trainer: PopulationTrainer | FullBatchTrainer,
    rows: list[int],
    started: float,
    epoch_ends: list[float],
) -> dict[int, MemberRecord]:
    """Records of ``rows`` of a trainer whose best weights were restored; ``started`` and
    ``epoch_ends`` (``time.time()`` at the end of each epoch) give each member's start
    (its population's) and end (the end of its last epoch)."""
    tuned: Any = trainer  # with the member_ids, pbt_log and stopped_by the search sets
    result = collect_results(trainer)
    model = trainer.model
    configs = getattr(model, "member_configs", None)
    out = {}
    for r in rows:
        hypers = {
            f"{g}.{k}": float(v[r])
            for g in ("optimizer", "loss", "penalty", "schedule")
            for k, v in getattr(trainer.knobs, g).items()
        }
        out[tuned.member_ids[r]] = MemberRecord(
            member=result.members[r],
            weights=model.member_tensors(r),  # copies: compaction overwrites the rows
            sizes=list(getattr(model, "sizes", [model.n_params, model.n_outputs])),
            activation=getattr(model, "activation", "module"),
            network=None if configs is None else networks.describe(model, [configs[r]]),
            loss_name=trainer.knobs.loss_name,
            leaky_slope=float(trainer.knobs.leaky_slope[r]),
            loss_hypers={k: float(v[r]) for k, v in trainer.knobs.loss.items()},
            final_hypers=hypers,
            pbt_log=tuned.pbt_log.get(tuned.member_ids[r], []),
            stopped_by=tuned.stopped_by.get(tuned.member_ids[r]),
            started=started,
            ended=epoch_ends[min(max(result.members[r].epochs_run, 1), len(epoch_ends)) - 1]
            if epoch_ends
            else started,
        )
    return out


@load_aware
def run_population(
    configs: list[RunConfig],
    data,
    *,
    callbacks: list[Callable] = (),  # type: ignore[assignment]
    on_epoch: Callable[[int, int, int, float], None] | None = None,
    min_compact: int = 2,
) -> list[MemberRecord]:
    """Train ``configs`` (one structure) as one population; records in input order."""
    if is_full_batch(configs[0]):
        return _run_full_batch(configs, data, list(callbacks), on_epoch)
    started = time.time()
    epoch_ends: list[float] = []
    trainer = _searched(
        PopulationTrainer(configs, data, callbacks=list(callbacks), on_epoch=on_epoch)
    )
    trainer.snapshot_every = None  # a search keeps no snapshot ensembles (its records do)
    done: dict[int, MemberRecord] = {}
    for epoch in range(trainer.epochs):
        trainer.run_epoch(epoch)  # train, validate, the hooks (caviar.training.hooks)
        epoch_ends.append(time.time())
        if not bool(trainer.alive.any()):
            break
        n_dead = int((~trainer.alive).sum())
        if n_dead >= min_compact and n_dead * 2 >= trainer.size:
            dead = (~trainer.alive).nonzero().flatten().tolist()
            keep = trainer.alive.nonzero().flatten().tolist()
            snapshot = trainer.model.flat.detach().clone(), trainer.model.stats.clone()
            trainer.restore_best_epochs()
            done.update(_records(trainer, dead, started, epoch_ends))
            with torch.no_grad():
                trainer.model.flat.copy_(snapshot[0])
                trainer.model.stats.copy_(snapshot[1])
            trainer = compact(trainer, keep)
    trainer.restore_best_epochs()
    done.update(_records(trainer, list(range(trainer.size)), started, epoch_ends))
    return [done[i] for i in range(len(configs))]


def _run_full_batch(
    configs: list[RunConfig], data, callbacks: list[Callable], on_epoch
) -> list[MemberRecord]:
    """:func:`run_population` for a full-batch method: the whole population to the end
    (every member converged, stopped or out of iterations), best weights restored."""
    started = time.time()
    epoch_ends: list[float] = []

    def clock(_trainer) -> None:  # the end of each iteration, after the search's callbacks
        epoch_ends.append(time.time())

    trainer = _searched(
        FullBatchTrainer(configs, data, callbacks=[*callbacks, clock], on_epoch=on_epoch)
    )
    trainer.run()  # restores each member's best weights
    return list(_records(trainer, list(range(len(configs))), started, epoch_ends).values())


def _searched(trainer):
    """``trainer`` with the search's per-row bookkeeping: each row's configuration index
    (kept through compaction), the PBT log and which callback stopped a row."""
    trainer.member_ids = list(range(trainer.size))
    trainer.pbt_log = {}
    trainer.stopped_by = {}
    return trainer
