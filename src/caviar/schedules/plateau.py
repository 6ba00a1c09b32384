"""Reduce-on-plateau: cut a member's learning rate when its own validation loss stalls.

Once the improvements become marginal, a smaller learning rate gets closer to the
minimum (:ref:`bg-lr-schedules`). The rule of
``torch.optim.lr_scheduler.ReduceLROnPlateau`` (mode ``min``, relative threshold),
per member ``p``, after every validated epoch with loss ``v``:

    improved      = v < best_p (1 - threshold_p)
    best_p, bad_p = (v, 0) if improved else (best_p, bad_p + 1)
    in cooldown   : cooldown_left_p -= 1, bad_p = 0
    bad_p > patience_p:
        lr_new = max(lr_p factor_p, min_lr_p);  lr_p = lr_new if lr_p - lr_new > 1e-8
        cooldown_left_p = cooldown_p, bad_p = 0

where ``lr_p`` is the member's base rate times its multiplier. The schedule's value
at any time is that multiplier (1 at the start), so a member's curve sets its own
rate and nothing else. The running state (multiplier, best, bad-epoch and cooldown
counters) lives in ``params`` under ``_``-names so that member copies (PBT) and
compaction carry it like the other per-member tensors.
"""

from __future__ import annotations

from typing import ClassVar

import torch

from caviar.schedules.base import HALF_OPEN_UNIT, NON_NEGATIVE, Rule, Schedule

EPS = 1e-8  # torch's ReduceLROnPlateau: smaller lr changes are ignored
STATE = ("_scale", "_best", "_bad", "_cooldown_left")


class ReduceOnPlateau(Schedule):
    """Multiplier cut by ``factor`` after ``patience`` validated epochs without progress."""

    name = "plateau"
    param_defaults: ClassVar[dict[str, float | None]] = {
        "factor": 0.1,
        "patience": 10.0,
        "min_lr": 0.0,
        "threshold": 1e-4,
        "cooldown": 0.0,
    }
    param_rules: ClassVar[dict[str, Rule]] = {
        "factor": HALF_OPEN_UNIT,
        "patience": NON_NEGATIVE,
        "min_lr": NON_NEGATIVE,
        "threshold": NON_NEGATIVE,
        "cooldown": NON_NEGATIVE,
    }

    def __init__(self, size: int, **kwargs) -> None:  # noqa: ANN003
        super().__init__(size, **kwargs)
        ones = torch.ones(size, dtype=self.dtype, device=self.device)
        self.params["_scale"] = ones
        self.params["_best"] = torch.full_like(ones, float("inf"))
        self.params["_bad"] = torch.zeros_like(ones)
        self.params["_cooldown_left"] = torch.zeros_like(ones)

    def multiplier(self, t: torch.Tensor) -> torch.Tensor:
        return self.params["_scale"].clone()

    @torch.no_grad()
    def observe(self, loss: torch.Tensor, base_lr: torch.Tensor, alive: torch.Tensor) -> None:
        """One validated epoch: members in ``alive`` with a finite ``loss`` update."""
        p = self.params
        live = alive & torch.isfinite(loss)
        improved = live & (loss < p["_best"] * (1 - p["threshold"]))
        p["_best"].copy_(torch.where(improved, loss, p["_best"]))
        bad = torch.where(improved, 0.0, p["_bad"] + 1)
        cooling = p["_cooldown_left"] > 0
        left = torch.where(cooling, p["_cooldown_left"] - 1, p["_cooldown_left"])
        bad = torch.where(cooling, 0.0, bad)
        reduce = live & (bad > p["patience"])
        lr = base_lr * p["_scale"]
        new_lr = torch.maximum(lr * p["factor"], p["min_lr"])
        cut = reduce & (lr - new_lr > EPS)
        safe = torch.where(base_lr > 0, base_lr, 1.0)
        p["_scale"].copy_(torch.where(cut, new_lr / safe, p["_scale"]))
        p["_cooldown_left"].copy_(
            torch.where(live & reduce, p["cooldown"], torch.where(live, left, p["_cooldown_left"]))
        )
        p["_bad"].copy_(torch.where(live, torch.where(reduce, 0.0, bad), p["_bad"]))


def plateau_of(schedule: Schedule) -> ReduceOnPlateau | None:
    """The plateau schedule inside ``schedule`` (itself or under a warm-up), or None."""
    inner = getattr(schedule, "inner", schedule)
    return inner if isinstance(inner, ReduceOnPlateau) else None


def copy_state(schedule: Schedule, dst: torch.Tensor, src: torch.Tensor) -> None:
    """Members ``dst`` take the plateau state of ``src`` (a PBT copy continues at the
    rate its source reached)."""
    plateau = plateau_of(schedule)
    if plateau is not None:
        for name in STATE:
            v = plateau.params[name]
            v.index_copy_(0, dst, v.index_select(0, src))


def observe_epoch(trainer) -> None:
    """After a trainer's validation: its plateau schedule (if any) sees each member's
    validation loss (the training loss when there are no validation rows)."""
    plateau = plateau_of(trainer.schedule)
    if plateau is not None:
        key = "val_loss" if trainer.has_val else "train_loss"
        plateau.observe(trainer.history[key][-1], trainer.knobs.optimizer["lr"], trainer.alive)
