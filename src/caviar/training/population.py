"""Grouping configurations into populations and stacking their knobs.

Configurations that agree on every structural field (``structure_key``) train
together as one population; each per-member field (``PER_MEMBER_FIELDS``) becomes
a ``(P,)`` tensor. Unset optimizer hyperparameters take the optimizer's defaults.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import torch

from caviar.config import PER_MEMBER_FIELDS, RunConfig, get_path
from caviar.config.live_knobs import REGULARIZE_FIELDS
from caviar.errors import CaviarError
from caviar.losses import get_loss
from caviar.nn.activations import activation_parameter
from caviar.optim import OPTIMIZERS
from caviar.training.stop_loss import stop_loss_values

PENALTY_NAMES = ("l1_kernel", "l2_kernel", "l1_bias", "l2_bias", "l1_activity", "l2_activity")


def penalty_lambdas(penalty: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The λ of the six penalty terms of ``knobs.penalty`` (without ``max_norm``)."""
    return {k: penalty[k] for k in PENALTY_NAMES}


def structure_key(cfg: RunConfig) -> str:
    """Canonical text of every structural field of ``cfg``."""
    dump = cfg.model_dump(mode="json")
    for path in PER_MEMBER_FIELDS:
        section, name = path.split(".")
        dump[section].pop(name, None)
    return json.dumps(dump, sort_keys=True)


def group_by_structure(configs: list[RunConfig]) -> list[list[int]]:
    """Indices of ``configs`` grouped by structure, in first-seen order."""
    groups: dict[str, list[int]] = {}
    for i, cfg in enumerate(configs):
        groups.setdefault(structure_key(cfg), []).append(i)
    return list(groups.values())


def resolve_loss_name(cfg: RunConfig, task: str) -> str:
    """The loss to use: ``auto`` is cross-entropy for classification, MSE for regression."""
    name = cfg.loss.name
    if name == "auto":
        return "cross_entropy" if task == "classification" else "mse"
    spec = get_loss(name)
    if spec.task != task:
        raise CaviarError(f"loss '{name}' is for {spec.task}, but the data is a {task} task")
    return name


def optimizer_hypers(cfg: RunConfig) -> dict[str, float]:
    """The optimizer's hyperparameters for ``cfg``, defaults filled in."""
    name = cfg.optimizer.name
    if name not in OPTIMIZERS:
        from caviar.optim.second_order import FULL_BATCH_METHODS

        names = ", ".join([*OPTIMIZERS, *FULL_BATCH_METHODS])
        raise CaviarError(f"unknown optimizer '{name}' (choose from: {names})")
    defaults = dict(OPTIMIZERS[name].hyper_defaults)
    for key, value in cfg.optimizer.hypers().items():
        if key not in defaults:
            raise CaviarError(
                f"optimizer '{name}' has no hyperparameter '{key}' (it has: {', '.join(defaults)})"
            )
        defaults[key] = value
    return defaults


@dataclass
class PopulationKnobs:
    """Every per-member knob of one population as ``(P,)`` tensors."""

    loss_name: str
    optimizer: dict[str, torch.Tensor]
    loss: dict[str, torch.Tensor]
    penalty: dict[str, torch.Tensor]
    schedule: dict[str, torch.Tensor]
    leaky_slope: torch.Tensor  # the activation's parameter: leaky slope, ELU alpha, softplus beta
    init_scale: list[float]
    patience: torch.Tensor
    min_delta: torch.Tensor
    seeds: list[int]
    extra: dict[str, torch.Tensor] = field(default_factory=dict)
    regularize: dict[str, torch.Tensor] = field(default_factory=dict)


# per-member regularization knobs: name in ``knobs.regularize`` -> config path


def stack_knobs(
    configs: list[RunConfig], task: str, *, dtype: torch.dtype, device: torch.device | str
) -> PopulationKnobs:
    """Stack the per-member knobs of configurations that share one structure."""

    def col(values: list[float]) -> torch.Tensor:
        return torch.tensor(values, dtype=dtype, device=device)

    first = configs[0]
    loss_name = resolve_loss_name(first, task)
    spec = get_loss(loss_name)
    opt = [optimizer_hypers(c) for c in configs]
    dumps = [c.model_dump() for c in configs]
    sched_keys = sorted({k for c in configs for k in c.schedule.params()})
    for c in configs:
        missing = [k for k in sched_keys if k not in c.schedule.params()]
        if missing:
            raise CaviarError(f"schedule parameter '{missing[0]}' is set for some members only")
    return PopulationKnobs(
        loss_name=loss_name,
        optimizer={k: col([o[k] for o in opt]) for k in opt[0]},
        loss={
            k: col([float(get_path(c.model_dump(), f"loss.{k}")) for c in configs])
            for k in spec.hypers
        },
        penalty={
            **{k: col([getattr(c.penalty, k) for c in configs]) for k in PENALTY_NAMES},
            "max_norm": col([c.penalty.max_norm or math.inf for c in configs]),
        },
        schedule={k: col([c.schedule.params()[k] for c in configs]) for k in sched_keys},
        leaky_slope=col([activation_parameter(c.model) for c in configs]),
        init_scale=[c.model.init_scale for c in configs],
        patience=col([math.inf if c.train.patience is None else c.train.patience for c in configs]),
        min_delta=col([c.train.min_delta for c in configs]),
        seeds=[c.train.seed for c in configs],
        regularize={
            k: col([float(get_path(d, path)) for d in dumps])
            for k, path in REGULARIZE_FIELDS.items()
        },
        extra={"stop_loss": col(stop_loss_values(configs))},
    )
