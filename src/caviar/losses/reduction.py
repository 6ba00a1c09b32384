"""The one reduction every loss uses: per-element values → one value per member.

A loss first computes a value per element, shape ``(P, B, ...)`` (member, example,
then e.g. the output axis of a regression or of independent sigmoids). This helper

1. averages every trailing axis after the batch axis, giving the per-example loss
   ``(P, B)`` (for regression with K outputs: the mean over the K outputs);
2. reduces the batch axis:

   * ``"mean"`` (default): ``L_m = (1/B) Σ_i ℓ_{m,i}`` → ``(P,)``;
   * ``"sum"``: ``Σ_i ℓ_{m,i}`` → ``(P,)`` (the textbook sum over examples,
     :ref:`bg-regression-losses`; handy to accumulate a loss over many batches and divide once);
   * ``"none"``: the per-example losses ``(P, B)``.

Textbooks write losses as sums over the examples; the engine
uses the mean so that the learning rate does not scale with the batch size
(docs/dev/conventions.md).
"""

from __future__ import annotations

from typing import Literal

import torch

from caviar.errors import CaviarError

Reduction = Literal["mean", "sum", "none"]

REDUCTIONS: tuple[str, ...] = ("mean", "sum", "none")


def reduce_loss(values: torch.Tensor, reduction: Reduction = "mean") -> torch.Tensor:
    """Reduce per-element losses ``(P, B, ...)`` to ``(P,)`` (or ``(P, B)`` for ``"none"``)."""
    if reduction not in REDUCTIONS:
        raise CaviarError(f"unknown reduction {reduction!r} (choose from: {', '.join(REDUCTIONS)})")
    if values.dim() < 2:
        raise ValueError(
            f"expected per-element losses of shape (P, B, ...), got {tuple(values.shape)}"
        )
    per_example = values.mean(dim=tuple(range(2, values.dim()))) if values.dim() > 2 else values
    if reduction == "mean":
        return per_example.mean(dim=1)
    if reduction == "sum":
        return per_example.sum(dim=1)
    return per_example
