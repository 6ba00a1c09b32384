"""Weight initializers, one member at a time from that member's own generator.

Each member draws its weights from ``torch.Generator().manual_seed(seed)``, so a
member's initial weights depend only on its own seed, never on the population it
is trained in (the population-independence invariant).

For a weight matrix of shape ``(fan_in, fan_out)``:

* ``zeros``                       W = 0 (every unit then learns the same thing)
* ``normal``                      W ~ N(0, s^2), s = ``init_scale``
* ``uniform``                     W ~ U(-s, s), s = ``init_scale``
* ``glorot_uniform`` / ``glorot_normal``  Var W = 2 / (fan_in + fan_out) (Glorot & Bengio)
* ``he_uniform`` / ``he_normal``  Var W = 2 / fan_in (He et al., for ReLU)
* ``lecun_uniform`` / ``lecun_normal``    Var W = 1 / fan_in

Initialization (:ref:`bg-initialization`): identical weights update identically, and
large fan-in with large weights overshoots, hence variance scaled by fan-in.
Biases start at zero.
"""

from __future__ import annotations

import math
from typing import get_args

import torch

from caviar.config.schema import Initializer
from caviar.errors import CaviarError

INITIALIZERS: tuple[str, ...] = get_args(Initializer)  # the names ``model.init`` accepts


def check_initializer(name: str) -> str:
    if name not in INITIALIZERS:
        raise CaviarError(f"unknown initializer '{name}' (choose from: {', '.join(INITIALIZERS)})")
    return name


def _variance(name: str, fan_in: int, fan_out: int) -> float:
    family = name.rsplit("_", 1)[0]
    if family == "glorot":
        return 2.0 / (fan_in + fan_out)
    if family == "he":
        return 2.0 / fan_in
    return 1.0 / fan_in  # lecun


def init_weight(
    name: str,
    fan_in: int,
    fan_out: int,
    *,
    scale: float,
    generator: torch.Generator,
    dtype: torch.dtype,
) -> torch.Tensor:
    """Draw one member's ``(fan_in, fan_out)`` weight matrix with initializer ``name``."""
    shape = (fan_in, fan_out)
    if name == "zeros":
        return torch.zeros(shape, dtype=dtype)
    if name == "normal":
        return torch.randn(shape, generator=generator, dtype=torch.float64).mul_(scale).to(dtype)
    if name == "uniform":
        u = torch.rand(shape, generator=generator, dtype=torch.float64)
        return u.mul_(2 * scale).sub_(scale).to(dtype)
    check_initializer(name)
    std = math.sqrt(_variance(name, fan_in, fan_out))
    if name.endswith("_normal"):
        w = torch.randn(shape, generator=generator, dtype=torch.float64).mul_(std)
    else:
        limit = math.sqrt(3.0) * std  # U(-a, a) has variance a^2 / 3
        w = torch.rand(shape, generator=generator, dtype=torch.float64).mul_(2 * limit).sub_(limit)
    return w.to(dtype)
