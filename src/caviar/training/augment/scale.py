"""Random scaling (zoom) of image-shaped inputs (:ref:`bg-augmentation`).

Member ``p`` draws for every example ``u ~ U(-1, 1)`` from its own stream and zooms the
image about its centre by

    f = 1 + u * scale_p        in [1 - scale_p, 1 + scale_p]   (scale_p in [0, 1))

(``f > 1`` enlarges, ``f < 1`` shrinks, leaving a zero background border). The zoom is
part of :class:`~caviar.training.augment.image.ImageWarp`'s single affine resampling:
output pixel ``q`` (centred coordinates) samples the input at ``R^-1 q / f - shift``.
"""

from __future__ import annotations

import torch

from caviar.nn import random as rnd


def scale_factors(
    seeds: torch.Tensor, counter: rnd.Counter, batch: int, scale: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """Zoom factors ``(P, batch)``: ``1 + u * scale_p`` with ``u ~ U(-1, 1)`` per example."""
    u = rnd.uniform(seeds, rnd.STREAM_AUG_SCALE, counter, (batch,), dtype=dtype) * 2 - 1
    return 1 + u * scale.to(dtype)[:, None]
