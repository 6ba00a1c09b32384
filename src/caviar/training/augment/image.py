"""Small random shifts and rotations of image-shaped inputs (:ref:`bg-augmentation`:
more data from the data at hand, by adding noise, scaling, translating or rotating
images).

For member ``p`` and every example, with ``u ~ U(-1, 1)`` from the member's stream:

    angle = u_r * rotate_p (degrees),   (dx, dy) = (u_x, u_y) * shift_p (pixels)

the image (in its original pixel units: the standardization is undone first and
redone after) is resampled bilinearly at the rotated, zoomed (``augment.scale``,
:mod:`.scale`) and shifted grid
(``torch.nn.functional.affine_grid`` / ``grid_sample``, zero padding: new border
pixels are background). Members whose strengths are both 0 keep their inputs
exactly (they are not resampled); so do members with all three at 0.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from caviar.nn import random as rnd
from caviar.training.augment.scale import scale_factors


def affine_warp(
    images: torch.Tensor,
    angle: torch.Tensor,
    dx: torch.Tensor,
    dy: torch.Tensor,
    zoom: torch.Tensor | None = None,
) -> torch.Tensor:
    """Rotate ``images (N, H, W)`` by ``angle`` radians about the centre, zoom them by
    ``zoom`` (:mod:`.scale`) and shift them by ``(dx, dy)`` pixels (x to the right, y
    down); bilinear, zero padding."""
    N, H, W = images.shape
    cos, sin = torch.cos(angle), torch.sin(angle)
    if zoom is not None:
        cos, sin = cos / zoom, sin / zoom
    # output pixel (x, y) samples the input at R^-1 (x, y) - shift, in [-1, 1] units
    theta = torch.stack(
        [
            torch.stack([cos, sin, -dx * (2.0 / W)], -1),
            torch.stack([-sin, cos, -dy * (2.0 / H)], -1),
        ],
        -2,
    )
    grid = F.affine_grid(theta, [N, 1, H, W], align_corners=False)
    out = F.grid_sample(
        images.unsqueeze(1), grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    return out.squeeze(1)


class ImageWarp:
    """Shift/rotate flattened ``(H, W)`` images standardized by ``(x - mean) / std``."""

    def __init__(self, shape: tuple[int, int], mean: torch.Tensor, std: torch.Tensor) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        self.mean, self.std = mean, std

    def __call__(
        self,
        x: torch.Tensor,
        shift: torch.Tensor,
        rotate: torch.Tensor,
        seeds: torch.Tensor,
        counter: rnd.Counter,
        scale: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """``x`` ``(B, F)`` or ``(P, B, F)`` -> ``(P, B, F)``; ``scale``: :mod:`.scale`."""
        P = shift.shape[0]
        x = x if x.dim() == 3 else x.unsqueeze(0).expand(P, -1, -1)
        B = x.shape[1]
        H, W = self.shape
        dt = x.dtype

        def signed(stream: int) -> torch.Tensor:
            return rnd.uniform(seeds, stream, counter, (B,), dtype=dt) * 2 - 1

        angle = signed(rnd.STREAM_AUG_ROTATE) * rotate.to(dt)[:, None] * (math.pi / 180)
        dx = signed(rnd.STREAM_AUG_SHIFT) * shift.to(dt)[:, None]
        dy = signed(rnd.STREAM_AUG_SHIFT + 1000) * shift.to(dt)[:, None]
        zoom = None
        active = (shift > 0) | (rotate > 0)
        if scale is not None and bool((scale > 0).any()):
            zoom = scale_factors(seeds, counter, B, scale, dt).reshape(-1)
            active = active | (scale > 0)
        raw = (x * self.std + self.mean).reshape(P * B, H, W)
        warped = affine_warp(raw, angle.reshape(-1), dx.reshape(-1), dy.reshape(-1), zoom)
        out = ((warped.reshape(P, B, H * W) - self.mean) / self.std).to(dt)
        active = active.reshape(P, 1, 1)
        return torch.where(active, out, x)
