"""The training score of an epoch, from the mini-batches as they were trained.

With ``metric = "auto"`` it accumulates sums batch by batch (correct predictions, or the
squared error for R² = 1 − SSE/SST over the whole training split). A named metric (ROC
AUC is not a sum over batches) keeps the batches' outputs, detached, and scores them
once at the end of the epoch: the metric of the training outputs the members produced
while they trained, the same notion as the running accuracy.
"""

from __future__ import annotations

import torch

from caviar.training.metrics import predicted_class
from caviar.training.scoring import AUTO, score_outputs


class EpochScore:
    """Per-member training score ``(P,)`` of an epoch: :meth:`add` batches, then :meth:`result`."""

    def __init__(self, metric: str, spec, size: int, dtype, device, scale: float = 1.0) -> None:
        self.metric, self.spec, self.scale = metric, spec, scale
        self.total = torch.zeros(size, dtype=dtype, device=device)
        self.outputs: list[torch.Tensor] = []
        self.targets: list[torch.Tensor] = []
        self.weights: list[torch.Tensor] = []

    @torch.no_grad()
    def add(self, out: torch.Tensor, yb: torch.Tensor, wb: torch.Tensor | None = None) -> None:
        """One trained batch: outputs ``(P, B, K)``, targets ``(B, ...)`` or ``(P, B, ...)``."""
        if self.metric != AUTO:
            p = out.shape[0]
            self.outputs.append(out.detach())
            self.targets.append(_per_member(yb, p, self.spec.task))
            if wb is not None:
                self.weights.append(_per_member(wb, p, "classification"))
        elif self.spec.task == "classification":
            self.total += (predicted_class(out) == yb).sum(dim=-1).to(out.dtype)
        else:
            self.total += (out - yb).pow(2).sum(dim=(-2, -1))

    @torch.no_grad()
    def result(self, y: torch.Tensor) -> torch.Tensor:
        """The epoch's score; ``y`` is the whole training target (for the auto R²'s SST)."""
        if self.metric != AUTO:
            weight = torch.cat(self.weights, dim=1) if self.weights else None
            out, target = torch.cat(self.outputs, dim=1), torch.cat(self.targets, dim=1)
            return score_outputs(self.metric, self.spec, out, target, weight, self.scale)
        if self.spec.task == "classification":
            return self.total / y.shape[-1]
        tiny = torch.finfo(self.total.dtype).tiny
        # y: (n, K) shared, or (P, n, K) per member (cross-validation folds)
        sst = (y - y.mean(dim=-2, keepdim=True)).pow(2).sum(dim=(-2, -1)).clamp_min(tiny)
        return 1.0 - self.total / sst


def _per_member(t: torch.Tensor, p: int, task: str) -> torch.Tensor:
    """``t`` with a leading member axis: class codes ``(B,)`` -> ``(P, B)``, targets
    ``(B, K)`` -> ``(P, B, K)``; already per member (per-member sampling) as it is."""
    shared_dims = 1 if task == "classification" else 2
    return t if t.dim() > shared_dims else t.expand(p, *t.shape)
