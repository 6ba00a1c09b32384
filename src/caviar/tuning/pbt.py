"""Population-based training as a trainer callback (Jaderberg et al. 2017).

Every ``interval`` validated epochs (every epoch validates unless
``train.validate_every`` says otherwise) the live members are ranked by their current
validation score. Each of the worst ``q = ceil(fraction * n_alive)`` members
*exploits* one of the best ``q`` (drawn at random): it copies its weights,
optimizer state and early-stopping record (``trainer.copy_members``), its
per-epoch curves so far (:func:`copy_history`: its record describes its lineage,
so its best epoch and scores match the weights it ends with) and its
continuous hyperparameters, then *explores*: every searched per-member
hyperparameter is perturbed in its transformed coordinate (:ref:`bg-search-scales`: log scale
for rates, ``log10(1 - beta)`` for momenta) by ``t <- t + log10(1 +- perturb)``
for log dimensions, ``t <- t * (1 +- perturb)`` otherwise, clipped to the
space's bounds, and written with ``trainer.set_hyper``. No checkpoint files.

Each step is logged per member (``trainer.pbt_log[member_id]``: epoch, source
member, the exact new values), so the search stores the values a member *ended*
with as its trial's parameters (:func:`final_params`), not the ones it started from.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from caviar.training.hooks import TrainerCallback
from caviar.training.validation_cadence import cadence_of
from caviar.tuning.space import Dimension

GROUPS = {"optimizer", "loss", "penalty", "schedule"}


def settable(d: Dimension) -> tuple[str, str] | None:
    """``(group, name)`` when ``trainer.set_hyper`` can change this dimension."""
    group, name = d.path.split(".")
    return (group, name) if d.per_member and group in GROUPS else None


class PopulationBasedTraining(TrainerCallback):
    """Hook (``on_epoch_end``, :mod:`caviar.training.hooks`): exploit (copy the best)
    and explore (perturb) every ``interval`` epochs."""

    def __init__(
        self,
        dimensions: list[Dimension],
        *,
        interval: int = 4,
        fraction: float = 0.25,
        perturb: float = 0.2,
        seed: int = 0,
    ) -> None:
        self.dims = [d for d in dimensions if settable(d) is not None]
        self.interval = interval
        self.fraction = fraction
        self.perturb = perturb
        self.rng = np.random.default_rng(seed)

    def _explore(self, d: Dimension, value: float) -> float:
        up = self.rng.random() < 0.5
        factor = 1 + self.perturb if up else 1 - self.perturb
        t = d.to_t(value)
        if d.kind in ("log_uniform", "int_log_uniform"):
            t = t + math.log10(factor)
        elif d.kind == "one_minus_log_uniform":
            t = t - math.log10(factor)  # beta up <=> 1 - beta down
        else:
            t = t * factor if t != 0 else (d.bounds[1] - d.bounds[0]) * (factor - 1)
        return float(d.from_t(t))

    def __call__(self, trainer) -> None:
        cadence = cadence_of(trainer)  # the interval counts validated epochs
        done = trainer.epoch + 1
        validated = cadence.count(trainer.epoch)
        if not cadence.due(trainer.epoch) or validated % self.interval or done >= trainer.epochs:
            return
        alive = trainer.alive.nonzero().flatten().tolist()
        q = math.ceil(self.fraction * len(alive))
        if len(alive) < 2 or q < 1:
            return
        q = min(q, len(alive) // 2)
        score = trainer.val_score.nan_to_num(nan=-math.inf)
        ranked = sorted(alive, key=lambda i: -float(score[i]))
        top, bottom = ranked[:q], ranked[-q:]
        src = [top[int(self.rng.integers(len(top)))] for _ in bottom]
        trainer.copy_members(bottom, src)
        copy_history(trainer, bottom, src)
        log = getattr(trainer, "pbt_log", None)
        ids = getattr(trainer, "member_ids", list(range(trainer.size)))
        chosen: dict[int, dict[str, float]] = {b: {} for b in bottom}
        for d in self.dims:
            group, name = settable(d)  # type: ignore[misc]
            values = getattr(trainer.knobs, group)[name].clone()
            for b, s in zip(bottom, src, strict=True):
                chosen[b][d.path] = self._explore(d, float(values[s]))
                values[b] = chosen[b][d.path]
            trainer.set_hyper(group, name, values)
        if log is not None:
            for b, s in zip(bottom, src, strict=True):
                entry = {"epoch": done, "from": ids[s], "params": chosen[b]}
                log.setdefault(ids[b], []).append(entry)


def copy_history(trainer, dst: list[int], src: list[int]) -> None:
    """Member ``dst[j]``'s per-epoch curves so far become those of ``src[j]`` (its lineage),
    as its weights and early-stopping record did in ``copy_members``: its best epoch and
    the scores recorded at it then describe the weights it holds (otherwise a member cut
    right after an exploit would report its own old score with its source's weights)."""
    d = torch.as_tensor(dst, dtype=torch.long)
    s = torch.as_tensor(src, dtype=torch.long)
    for rows in trainer.history.values():
        for h in rows:
            h.index_copy_(0, d.to(h.device), h.index_select(0, s.to(h.device)))


def final_params(initial: dict[str, Any], history: list[dict[str, Any]]) -> dict[str, Any]:
    """The hyperparameters a member ended with: its sampled ``initial`` ones, overwritten
    by the values of its last exploit/explore step (each step sets every perturbed one)."""
    out = dict(initial)
    for step in history:
        out.update(step.get("params", {}))
    return out
