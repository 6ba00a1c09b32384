"""Batched evaluation of every member on a data split in one pass (chunked by memory)."""

from __future__ import annotations

import torch

from caviar.losses import get_loss
from caviar.training.metrics import accuracy, r2_score

EVAL_BYTES = 256 * 2**20  # activations budget for one evaluation chunk


def eval_chunk_rows(population: int, widest: int, itemsize: int) -> int:
    """Rows per chunk so that ``P x rows x widest`` activations fit the budget."""
    return max(1, EVAL_BYTES // max(1, population * widest * itemsize * 3))


@torch.no_grad()
def predict_outputs(
    model,
    x: torch.Tensor,
    *,
    slope: torch.Tensor | None,
    flat: torch.Tensor | None = None,
    stats: torch.Tensor | None = None,
) -> torch.Tensor:
    """Raw outputs ``(P, n, K)`` for inputs ``(n, F)``, chunked over rows (evaluation mode:
    no dropout; batch norm with the running statistics ``stats``, default ``model.stats``)."""
    f = model.flat if flat is None else flat
    rows = eval_chunk_rows(f.shape[0], max(model.sizes), f.element_size())
    parts = [
        model(x[i : i + rows], slope=slope, flat=f, stats=stats) for i in range(0, x.shape[0], rows)
    ]
    return torch.cat(parts, dim=1)


@torch.no_grad()
def evaluate(
    model,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    loss_name: str,
    loss_hypers: dict[str, torch.Tensor],
    slope: torch.Tensor | None,
    flat: torch.Tensor | None = None,
    stats: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-member data loss and score ``(P,), (P,)`` on one split."""
    spec = get_loss(loss_name)
    out = predict_outputs(model, x, slope=slope, flat=flat, stats=stats)
    loss = spec.fn(out, y, **loss_hypers)
    if spec.task == "classification":
        score = accuracy(spec.predict_proba(out), y)
    else:
        score = r2_score(out, y)
    return loss, score
