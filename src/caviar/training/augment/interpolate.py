"""Interpolation between examples of the same class (:ref:`bg-augmentation`:
new data generated from the original data set by noise, interpolation, rotation...).

For member ``p`` and a training example ``x`` of class ``c``, a partner ``x'`` is
drawn uniformly among the training examples of class ``c`` and

    x <- x + lambda (x' - x),    lambda ~ U(0, s_p)

with per-member strength ``s_p`` in ``[0, 1]``; the label stays ``c`` (both ends
of the segment are class ``c``). ``s_p = 0`` leaves ``x`` unchanged.
"""

from __future__ import annotations

import torch

from caviar.nn import random as rnd
from caviar.tensors import per_member


class ClassPartners:
    """Rows of the training set grouped by class, to draw same-class partners."""

    def __init__(self, y: torch.Tensor, n_classes: int) -> None:
        self.rows = torch.argsort(y, stable=True)
        counts = torch.bincount(y, minlength=n_classes)
        self.counts = counts
        self.starts = torch.cumsum(counts, 0) - counts

    def draw(self, y: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Partner rows for labels ``y`` (``(B,)`` or ``(P, B)``) with uniforms ``u (P, B)``."""
        count = self.counts[y].to(u.dtype)
        k = (u * count).long().clamp_max((self.counts[y] - 1).clamp_min(0))
        return self.rows[self.starts[y] + k]


def interpolate(
    x: torch.Tensor,
    y: torch.Tensor,
    x_train: torch.Tensor,
    partners: ClassPartners,
    strength: torch.Tensor,
    seeds: torch.Tensor,
    counter: rnd.Counter,
) -> torch.Tensor:
    """Move each example toward a same-class partner; returns ``(P, B, F)``."""
    P, B = strength.shape[0], y.shape[-1]
    u = rnd.uniform(seeds, rnd.STREAM_AUG_PARTNER, counter, (B,), dtype=torch.float64)
    other = x_train[partners.draw(y, u)]  # (P, B, F)
    lam = rnd.uniform(seeds, rnd.STREAM_AUG_MIX, counter, (B, 1), dtype=x.dtype)
    lam = lam * per_member(strength.to(x.dtype), lam)
    base = x if x.dim() == 3 else x.unsqueeze(0).expand(P, -1, -1)
    return base + lam * (other - base)
