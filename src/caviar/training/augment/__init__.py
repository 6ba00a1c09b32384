"""Per-member augmentation of training mini-batches (:ref:`bg-augmentation`).

:class:`Augmenter` applies, in order and only when some member's strength is
positive: interpolation toward a same-class example (:mod:`.interpolate`),
image shifts, rotations and zooms (:mod:`.image`, :mod:`.scale`), and Gaussian input noise
(``noise.input``, :func:`caviar.nn.noise.input_noise`). Each member draws from
its own random stream, so inputs become ``(P, B, F)`` and a member sees the same
augmented data alone or inside a population.
"""

from __future__ import annotations

import numpy as np
import torch

from caviar.errors import CaviarError
from caviar.nn import random as rnd
from caviar.nn.noise import check_sigma, input_noise
from caviar.training.augment.image import ImageWarp
from caviar.training.augment.interpolate import ClassPartners, interpolate
from caviar.training.augment.signal import SignalShift

__all__ = ["Augmenter"]


class Augmenter:
    """Augments a training batch for every member (see the module docstring)."""

    def __init__(
        self, data, knobs: dict[str, torch.Tensor], x_train, y_train, seeds, *, shaped=False
    ) -> None:
        """``shaped``: the model reads examples of ``data.input_shape`` (a CNN or module), so
        ``(C, L)`` examples are signals shifted along ``L`` (an MLP reads a 3-D array's
        examples as ``(H, W)`` images, ``data.image_shape``)."""
        self.knobs, self.x_train, self.seeds = knobs, x_train, seeds
        self.shaped = shaped
        self.task = data.task
        self.partners: ClassPartners | None = None
        self.warp: ImageWarp | SignalShift | None = None
        self._data = data
        self.refresh()

    def refresh(self) -> None:
        """Re-read the strengths (after ``set_hyper``), validate them, and decide what runs."""
        k = self.knobs
        for name, what in (
            ("input_noise", "noise.input"),
            ("interpolate", "augment.interpolate"),
            ("shift", "augment.shift"),
            ("rotate", "augment.rotate"),
            ("scale", "augment.scale"),
        ):
            check_sigma(k[name], what)
        if bool((k["interpolate"] > 1).any()):
            raise CaviarError("augment.interpolate must be in [0, 1]")
        if bool((k["scale"] >= 1).any()):
            raise CaviarError("augment.scale must be in [0, 1)")
        self.use_noise = bool((k["input_noise"] > 0).any())
        self.use_interp = bool((k["interpolate"] > 0).any())
        self.use_warp = bool(((k["shift"] > 0) | (k["rotate"] > 0) | (k["scale"] > 0)).any())
        if self.use_interp and self.partners is None:
            if self.task != "classification":
                raise CaviarError("augment.interpolate needs a classification task")
            self.partners = ClassPartners(self.y_train_codes(), int(self._data.n_classes))
        if self.use_warp and self.warp is None:
            self.warp = _image_warp(self._data, self.x_train, self.shaped)
        if isinstance(self.warp, SignalShift) and bool((k["rotate"] > 0).any()):
            raise CaviarError("augment.rotate needs images; signals (C, L) can be shifted only")
        if isinstance(self.warp, SignalShift) and bool((k["scale"] > 0).any()):
            raise CaviarError("augment.scale needs images; signals (C, L) can be shifted only")

    def y_train_codes(self) -> torch.Tensor:
        return torch.as_tensor(np.asarray(self._data.y_train), dtype=torch.long).to(
            self.x_train.device
        )

    @property
    def active(self) -> bool:
        return self.use_noise or self.use_interp or self.use_warp

    def __call__(self, x: torch.Tensor, y: torch.Tensor, counter: rnd.Counter) -> torch.Tensor:
        k, seeds = self.knobs, self.seeds
        if self.use_interp:
            assert self.partners is not None  # refresh() builds them when use_interp
            x = interpolate(x, y, self.x_train, self.partners, k["interpolate"], seeds, counter)
        if self.use_warp:
            assert self.warp is not None  # refresh() builds it when use_warp
            if isinstance(self.warp, SignalShift):
                x = self.warp(x, k["shift"], k["rotate"], seeds, counter)
            else:
                x = self.warp(x, k["shift"], k["rotate"], seeds, counter, scale=k["scale"])
        if self.use_noise:
            x = input_noise(x, k["input_noise"], seeds, counter, rnd.STREAM_INPUT_NOISE)
        return x


def _image_warp(data, x_train: torch.Tensor, shaped: bool) -> ImageWarp | SignalShift:
    shape = getattr(data, "image_shape", None)
    signal = getattr(data, "input_shape", None)
    signal = tuple(signal) if shaped and signal is not None and len(signal) == 2 else None
    if signal is not None:  # (C, L) signals
        shape = signal
    if shape is None:
        raise CaviarError("augment.shift, augment.rotate and augment.scale need image-shaped data")
    if shape[0] * shape[1] != x_train.shape[1]:
        raise CaviarError(f"image shape {tuple(shape)} does not match {x_train.shape[1]} features")
    columns = getattr(data.preprocessor, "columns", None) or []
    means = [getattr(c, "mean", None) for c in columns]
    stds = [getattr(c, "std", None) for c in columns]
    if len(means) == x_train.shape[1] and None not in means and None not in stds:
        mean = torch.tensor(means, dtype=x_train.dtype, device=x_train.device)
        std = torch.tensor(stds, dtype=x_train.dtype, device=x_train.device)
    else:  # inputs not standardized by a known preprocessor: warp them as they are
        mean, std = torch.zeros_like(x_train[0]), torch.ones_like(x_train[0])
    if signal is not None:
        return SignalShift(shape, mean, std)
    return ImageWarp(shape, mean, std)
