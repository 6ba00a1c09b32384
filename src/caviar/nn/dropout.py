"""Inverted dropout with a per-member rate (:ref:`bg-dropout`).

``rate`` is the proportion of units zeroed (as in Keras; some texts
call ``p = 1 - rate``, the keep probability, the parameter). In training,
for member ``p`` with uniforms ``u`` from its own stream (:mod:`caviar.nn.random`):

    m = [u >= rate_p]          (kept with probability 1 - rate_p)
    h <- h * m / (1 - rate_p)  (inverted scaling keeps E[h] unchanged)

so evaluation uses the network unchanged (dropout is off during
evaluation; the 1/(1-rate) scaling is applied during training instead of at
prediction time). A fresh mask is drawn for every mini-batch (the
dropped units of one batch do not carry over to the next). A member with ``rate = 0``
keeps every unit and is multiplied by exactly 1. Masks use 16-bit uniforms
(two per hashed word, :func:`caviar.nn.random.uniform`), so the keep
probability is ``1 - rate`` rounded up to a multiple of 2^-16.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from caviar.errors import CaviarError
from caviar.nn import random as rnd
from caviar.tensors import per_member


def check_rate(rate: torch.Tensor, what: str = "dropout rate") -> torch.Tensor:
    """Raise a one-line error unless every rate is in [0, 1)."""
    if not bool(((rate >= 0) & (rate < 1)).all()):
        bad = rate[~((rate >= 0) & (rate < 1))][0].item()
        raise CaviarError(f"{what} must be in [0, 1), got {bad}")
    return rate


def dropout_factor(rate: torch.Tensor, keep: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The inverted-dropout factor ``d = keep / (1 - rate_p)`` for a bool mask ``keep``
    ``(P, B, F)`` and rates ``(P,)``; dropout is ``h ⊙ d`` (and its gradient ``g ⊙ d``)."""
    return keep.to(dtype).mul_(per_member(1.0 / (1.0 - rate.to(dtype)), keep))


@dataclass
class DropoutPass:
    """Dropout for one forward pass: per-member rates and random streams.

    ``rate`` applies to hidden units, ``input_rate`` to the inputs; ``None``
    switches that dropout off for every member (no op at all). ``counter``
    identifies the pass (training step, or MC sample) so each pass draws
    fresh masks.
    """

    seeds: torch.Tensor
    counter: rnd.Counter
    rate: torch.Tensor | None = None
    input_rate: torch.Tensor | None = None

    def factor(self, h: torch.Tensor, layer: int | None) -> torch.Tensor | None:
        """The factor ``d`` (:func:`dropout_factor`) of this pass for ``h`` at ``layer``
        (``None``: the inputs), or ``None`` when that dropout is off."""
        rate = self.input_rate if layer is None else self.rate
        if rate is None:
            return None
        stream = rnd.STREAM_INPUT_DROPOUT if layer is None else rnd.STREAM_DROPOUT + layer
        if h.shape[0] != rate.shape[0]:  # shared inputs (B, F) or (1, B, F)
            h = h.expand(rate.shape[0], -1, -1)
        keep = rnd.bernoulli_keep(self.seeds, stream, self.counter, tuple(h.shape[1:]), rate)
        return dropout_factor(rate, keep, h.dtype)

    def apply(self, h: torch.Tensor, layer: int | None) -> torch.Tensor:
        """Dropout on the inputs (``layer=None``) or after hidden layer ``layer``."""
        factor = self.factor(h, layer)
        return h if factor is None else h * factor
