"""Random shifts of signal-shaped inputs ``(C, L)`` along their time axis (:ref:`bg-augmentation`:
the 1-D counterpart of translating images).

For member ``p`` and every example, with ``u ~ U(-1, 1)`` from the member's stream,
``d = u * shift_p`` samples: every channel of the example (in its original units: the
standardization is undone first and redone after) is resampled linearly at ``t − d``,
zero outside the signal (:func:`caviar.training.augment.image.affine_warp` on a one-row
image). Members whose shift is 0 keep their inputs exactly.
"""

from __future__ import annotations

import torch

from caviar.nn import random as rnd
from caviar.training.augment.image import affine_warp


class SignalShift:
    """Shift flattened ``(C, L)`` signals standardized by ``(x - mean) / std``."""

    def __init__(self, shape: tuple[int, int], mean: torch.Tensor, std: torch.Tensor) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        self.mean, self.std = mean, std

    def __call__(
        self,
        x: torch.Tensor,
        shift: torch.Tensor,
        rotate: torch.Tensor,
        seeds,
        counter: rnd.Counter,
    ) -> torch.Tensor:
        """``x`` ``(B, F)`` or ``(P, B, F)`` -> ``(P, B, F)`` (``rotate`` must be 0)."""
        P = shift.shape[0]
        x = x if x.dim() == 3 else x.unsqueeze(0).expand(P, -1, -1)
        B, dt = x.shape[1], x.dtype
        C, L = self.shape
        u = rnd.uniform(seeds, rnd.STREAM_AUG_SHIFT, counter, (B,), dtype=dt) * 2 - 1
        d = (u * shift.to(dt)[:, None]).repeat_interleave(C, dim=1).reshape(-1)  # (P*B*C,)
        raw = (x * self.std + self.mean).reshape(P * B * C, 1, L)
        zero = torch.zeros_like(d)
        moved = affine_warp(raw, zero, d, zero)
        out = ((moved.reshape(P, B, C * L) - self.mean) / self.std).to(dt)
        return torch.where((shift > 0).reshape(P, 1, 1), out, x)
