"""Per-member early stopping that keeps each member's best weights.

Early stopping (:ref:`bg-early-stopping`): stop when the validation error stops improving,
monitoring N epochs. For every member p, after each epoch t:

    improved_p = L_val,p(t) < best_p - min_delta_p
    best_p, best_epoch_p, best_weights_p <- L_val,p(t), t, theta_p(t)   if improved_p
    wait_p <- 0 if improved_p else wait_p + 1
    member p stops when wait_p >= patience_p

``patience`` and ``min_delta`` are per-member ``(P,)`` tensors (``inf`` patience
never stops). At the end every member is restored to its best weights.
"""

from __future__ import annotations

import torch


class EarlyStopping:
    """Best-so-far tracking and patience counters for ``P`` members."""

    def __init__(self, patience: torch.Tensor, min_delta: torch.Tensor, flat: torch.Tensor) -> None:
        p = flat.shape[0]
        self.patience = patience
        self.min_delta = min_delta
        self.best = torch.full((p,), float("inf"), dtype=flat.dtype, device=flat.device)
        self.best_epoch = torch.full((p,), -1, dtype=torch.long, device=flat.device)
        self.wait = torch.zeros(p, dtype=flat.dtype, device=flat.device)
        self.best_flat = flat.detach().clone()

    @torch.no_grad()
    def update(
        self, epoch: int, val_loss: torch.Tensor, flat: torch.Tensor, alive: torch.Tensor
    ) -> torch.Tensor:
        """Record epoch ``epoch``; return the mask of members that stop now."""
        improved = alive & torch.isfinite(val_loss) & (val_loss < self.best - self.min_delta)
        self.best = torch.where(improved, val_loss, self.best)
        self.best_epoch = torch.where(
            improved, torch.full_like(self.best_epoch, epoch), self.best_epoch
        )
        self.wait = torch.where(
            improved, torch.zeros_like(self.wait), torch.where(alive, self.wait + 1, self.wait)
        )
        self.best_flat.copy_(torch.where(improved[:, None], flat.detach(), self.best_flat))
        return alive & (self.wait >= self.patience)

    @torch.no_grad()
    def restore_best(self, flat: torch.Tensor) -> None:
        """Put each member's best weights back (members never improved keep theirs)."""
        has_best = (self.best_epoch >= 0)[:, None]
        flat.copy_(torch.where(has_best, self.best_flat, flat.detach()))
