"""The search plan: a tuning config read and validated before anything is written.

:func:`make_plan` splits a config into its base run configuration and its
``[search]`` section (settings and space, ``caviar.tuning.settings`` and
``caviar.tuning.space``) and checks what would otherwise fail mid-search: no
grid axes outside ``[search.space]``, halving's ``min_epochs`` and PBT's
``interval`` below ``train.epochs``, PBT with a per-member dimension.
:func:`check_config` checks one sampled configuration (its optimizer's
hyperparameters and its loss for the task).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caviar.config import RunConfig, expand_configs, read_toml, validate_config
from caviar.config.grid import find_axes
from caviar.errors import CaviarError
from caviar.training.folds import check_fold_config
from caviar.training.full_batch import check_full_batch_config, is_full_batch
from caviar.training.population import optimizer_hypers, resolve_loss_name
from caviar.training.scoring import get_metric
from caviar.tuning.settings import (
    SearchSettings,
    apply_search_cv,
    apply_search_metric,
    parse_settings,
)
from caviar.tuning.space import SearchSpace, parse_space
from caviar.tuning.strategies.enqueue import check_enqueued


@dataclass
class TunePlan:
    """Everything validated before a search starts: the base configuration (``base``, the
    config without its ``[search]`` section, as a dict and validated as ``config``), the
    search settings and space, the study name."""

    base: dict[str, Any]
    settings: SearchSettings
    space: SearchSpace
    name: str
    # the name is a hash of a dict config (no file name, no ``name`` key): a --resume
    # takes the study name its run directory recorded (caviar.tuning.runner)
    hashed_name: bool = False
    # ``base`` validated: :func:`make_plan` keeps the RunConfig it checked (a plan made
    # otherwise validates ``base`` on the first :meth:`base_config`)
    config: RunConfig | None = field(default=None, repr=False, compare=False)

    def base_config(self) -> RunConfig:
        """The base configuration as a validated :class:`RunConfig` (validated once)."""
        if self.config is None:
            self.config = validate_config(self.base)
        return self.config


def study_name(raw: dict[str, Any]) -> str:
    """The study name of a config given as a dict: its ``name`` key, else ``tune-`` and
    a stable hash of the config (the same config always names the same study)."""
    name = raw.get("name")
    if name is not None:
        if not isinstance(name, str) or not name.strip():
            raise CaviarError(f"config: name must be a non-empty string, got {name!r}")
        return name
    text = json.dumps(raw, sort_keys=True, default=str)
    return "tune-" + hashlib.sha256(text.encode()).hexdigest()[:10]


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Set each dotted ``overrides`` key in ``raw`` (``"train.epochs"``,
    ``"search.halving.eta"``, ``"search.space.optimizer.lr"``: a space dimension keeps its
    dotted name); a key without a dot is a ``[search]`` setting (``"trials"``). Returns
    the ``[search]`` settings overrides; None values are skipped (CLI flags not given)."""
    search: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if not isinstance(key, str) or not key or key.startswith(".") or key.endswith("."):
            raise CaviarError(f"overrides: {key!r} is not a config key (e.g. 'train.epochs')")
        if "." not in key:
            search[key] = value
            continue
        parts = key.split(".")
        if parts[:2] == ["search", "space"] and len(parts) > 2:
            parts = [*parts[:2], ".".join(parts[2:])]
        node = raw
        for p in parts[:-1]:
            child = node.setdefault(p, {})
            if not isinstance(child, dict):
                raise CaviarError(f"overrides: {key!r}: '{p}' is not a section of the config")
            node = child
        node[parts[-1]] = copy.deepcopy(value)
    return search


def make_plan(config: str | Path | dict, overrides: dict[str, Any] | None = None) -> TunePlan:
    """Parse and validate a tuning config (nothing is written). ``overrides``: config
    keys to set first (:func:`apply_overrides`). The study is named after the file
    (its stem) or, for a dict, by :func:`study_name`."""
    hashed = isinstance(config, dict) and config.get("name") is None
    if isinstance(config, dict):
        raw = copy.deepcopy(config)
        name = study_name(raw)
        raw.pop("name", None)
    else:
        raw, name = read_toml(config), Path(config).stem
    if not isinstance(raw, dict):
        raise CaviarError("config: expected a table of sections")
    search_overrides = apply_overrides(raw, overrides)
    settings = parse_settings(raw.pop("search", None), search_overrides)
    axes = find_axes(raw)
    if axes:
        raise CaviarError(
            f"config: '{next(iter(axes))}' is a list of values; in a tuning config put "
            "searched fields in [search.space]"
        )
    # several objectives: the first is the metric every trial is scored (and halved) by
    first = settings.objectives[0] if settings.objectives else None
    apply_search_metric(raw, settings.metric or first)
    apply_search_cv(raw, settings.cv)
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
    folder = None if isinstance(config, dict) else Path(config).parent
    settings.enqueue = check_enqueued(space, read_enqueued(settings.enqueue, folder))
    return TunePlan(raw, settings, space, name, hashed_name=hashed, config=base_cfg)


def read_enqueued(enqueue: list | str, folder: Path | None) -> list:
    """``search.enqueue`` as a list: a string is a JSON file holding the list (relative
    paths from the config file's folder)."""
    if not isinstance(enqueue, str):
        return enqueue
    path = Path(enqueue)
    if not path.is_absolute() and folder is not None:
        path = folder / path
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CaviarError(f"search.enqueue: cannot read {path} ({first})") from None
    if not isinstance(loaded, list):
        raise CaviarError(f"search.enqueue: {path} must hold a JSON list of tables")
    return loaded


def check_config(cfg: RunConfig, task: str) -> None:
    """Raise a one-line error unless ``cfg``'s optimizer hyperparameters and loss fit ``task``."""
    if is_full_batch(cfg):  # gd, gd_linesearch, newton, bfgs, lbfgs
        check_full_batch_config(cfg)
    else:
        optimizer_hypers(cfg)
    resolve_loss_name(cfg, task)
    get_metric(cfg.train.metric, task)
    check_fold_config(cfg)
