"""What a callback may do to a running population (successive halving, PBT).

Shared by the first-order :class:`~caviar.training.trainer.PopulationTrainer`
and the full-batch :class:`~caviar.training.full_batch.FullBatchTrainer`:
read the last validation loss/score, stop members for good (``prune``), and make
members copies of others (``copy_members``: weights, optimizer or curvature
state, early-stopping record and status). A trainer provides ``_copy_state``
(its algorithm-specific state rows), ``_status_masks`` (its ``(P,)`` masks) and
``hooks`` (the list :meth:`~PopulationControls.notify` calls).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from caviar.training.folds import fold_mean
from caviar.training.hooks import HookState, notify
from caviar.training.scoring import AUTO


class PopulationControls:
    """Mixin: callback operations over the members of a population."""

    # what the trainer provides (annotations for the type checker: nothing defined here)
    history: dict[str, list[torch.Tensor]]  # per-epoch (P,) records by name
    alive: torch.Tensor  # (P,) masks
    pruned: torch.Tensor
    diverged: torch.Tensor
    stopped: torch.Tensor
    device: torch.device | str
    model: Any  # the population model (flat weights)
    stopper: Any  # per-member early stopping
    metric: str
    epoch: int
    epochs: int
    on_epoch: Callable[[int, int, int, float], None] | None
    size: int  # members
    hooks: list[Any]  # the hooks notify() calls, defaults first

    @property
    def val_loss(self) -> torch.Tensor:
        """The last epoch's validation loss ``(P,)``."""
        return self.history["val_loss"][-1]

    @property
    def val_score(self) -> torch.Tensor:
        """The last epoch's validation score ``(P,)`` (higher is better)."""
        return self.history["val_score"][-1]

    def prune(self, mask: torch.Tensor) -> None:
        """Stop the members in ``mask`` for good (status ``pruned``); their best weights stay."""
        mask = mask.to(self.alive.device) & self.alive
        self.pruned |= mask
        self.alive &= ~mask

    @torch.no_grad()
    def copy_members(
        self, dst: Sequence[int] | torch.Tensor, src: Sequence[int] | torch.Tensor
    ) -> None:
        """Member ``dst[j]`` becomes a copy of member ``src[j]``: weights, optimizer state,
        early-stopping record (best weights, patience) and status. Hyperparameters are
        not copied. ``dst`` members become alive again if their source is."""
        d = torch.as_tensor(dst, dtype=torch.long, device=self.device).reshape(-1)
        s = torch.as_tensor(src, dtype=torch.long, device=self.device).reshape(-1)
        self.model.flat.index_copy_(0, d, self.model.flat.index_select(0, s))
        self._copy_state(d, s)
        for name in ("best", "best_epoch", "wait", "best_flat"):
            value = getattr(self.stopper, name)
            value.index_copy_(0, d, value.index_select(0, s))
        for mask in self._status_masks():
            mask.index_copy_(0, d, mask.index_select(0, s))

    def _record_validation(
        self, val_loss: torch.Tensor, val_score: torch.Tensor, default_score: torch.Tensor
    ) -> None:
        """Record an epoch's validation: members with a non-finite loss are marked
        diverged, then per-member early stopping stops the members out of patience.
        Early stopping watches the validation loss, or with a named ``train.metric`` that
        metric (``-score``: lower is better for the stopper); ``default_score`` is the
        accuracy or R² of the same epoch, kept to compare the metric's choice with."""
        bad = self.alive & ~torch.isfinite(val_loss)
        self.diverged |= bad
        self.alive &= ~bad
        self.history["val_loss"].append(val_loss)
        self.history["val_score"].append(val_score)
        self.history["val_default_score"].append(default_score)
        watched = val_loss if self.metric == AUTO else -val_score
        watched = fold_mean(self, watched)  # cross-validation: the folds' mean (training/folds)
        stop_now = self.stopper.update(self.epoch, watched, self.model.flat, self.alive)
        self.stopped |= stop_now
        self.alive &= ~stop_now

    def _copy_state(self, dst: torch.Tensor, src: torch.Tensor) -> None:
        raise NotImplementedError

    def _status_masks(self) -> tuple[torch.Tensor, ...]:
        raise NotImplementedError

    def notify(self, name: str) -> None:
        """Call hook ``name`` of every hook of this trainer (:mod:`caviar.training.hooks`)."""
        rows = list(getattr(self, "member_ids", range(self.size)))
        notify(self.hooks, name, HookState(trainer=self, members=rows))
