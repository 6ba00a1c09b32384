"""A seeded synthetic 1-D signal classification task: which shape is in the signal?

Each example is a signal of ``length`` samples (``channels`` of them, the shape on one
channel and noise on every channel) holding one shape of its class, of random width
``w ∈ [length/6, length/3]``, at a random position, scaled by a random amplitude:

    x(t) = a · s_y((t − t₀) / w) + c + σ ε(t),   a ~ U(1, 2)·(±1), c ~ U(−0.5, 0.5), ε ~ N(0, 1)

with the shapes ``s`` on ``u ∈ [0, 1)`` (0 outside):

====  ===========  ===================================================
code  name         s(u)
====  ===========  ===================================================
0     sine burst   sin(2π f u) · sin(π u), f ~ U(1, 1.5) cycles
1     square       1 (a rectangular pulse)
2     ramp         2u − 1 (a sawtooth tooth)
3     chirp        sin(2π (f₀ u + (f₁ − f₀) u² / 2)), f₀ ~ U(0.25, 0.5), f₁ ~ U(3, 3.5)
4     triangle     1 − |2u − 1|
5     bump         exp(−(u − ½)² / (2 · 0.12²))
====  ===========  ===================================================

The class is a property of the local shape wherever it is (as with translated images,
:ref:`bg-augmentation`: the label does not change under a shift), so a convolutional
network, whose features move with the input, learns it from far fewer examples than an MLP,
which must learn every shape at every position (measured, one run, 4,000 signals of length 48,
20 epochs of Adam: the benchmark's CNN 0.89 validation accuracy at lr 3e-3, an MLP
128-128 at most 0.81 over lr 1e-3, 3e-3, 1e-2; the CNN confuses sine bursts and chirps
most). The classes are balanced (``n`` examples in classes of sizes differing by at most
one, in a seeded random order); the same ``seed`` gives the same arrays.
"""

from __future__ import annotations

import numpy as np

SHAPES = ("sine_burst", "square", "ramp", "chirp", "triangle", "bump")


def _shape(code: int, u: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if code == 0:
        return np.sin(2 * np.pi * rng.uniform(1.0, 1.5) * u) * np.sin(np.pi * u)
    if code == 1:
        return np.ones_like(u)
    if code == 2:
        return 2 * u - 1
    if code == 3:
        f0, f1 = rng.uniform(0.25, 0.5), rng.uniform(3.0, 3.5)
        return np.sin(2 * np.pi * (f0 * u + (f1 - f0) * u * u / 2))
    if code == 4:
        return 1 - np.abs(2 * u - 1)
    return np.exp(-((u - 0.5) ** 2) / (2 * 0.12**2))


def make_signals(
    n: int = 4000,
    length: int = 48,
    n_classes: int = 4,
    seed: int = 0,
    *,
    channels: int = 1,
    noise: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """``X (n, channels, length)`` float32 signals and ``y (n,)`` int64 class codes.

    Raises:
        ValueError: ``n < n_classes``, ``n_classes`` outside ``[2, 6]``, ``length < 8``,
            ``channels < 1`` or ``noise < 0``.
    """
    if not 2 <= n_classes <= len(SHAPES):
        raise ValueError(f"n_classes must be in [2, {len(SHAPES)}], got {n_classes}")
    if n < n_classes or length < 8 or channels < 1 or noise < 0:
        raise ValueError(
            f"need n >= n_classes, length >= 8, channels >= 1, noise >= 0; got n={n}, "
            f"length={length}, channels={channels}, noise={noise}"
        )
    rng = np.random.default_rng(seed)
    y = rng.permutation(np.arange(n) % n_classes).astype(np.int64)
    X = noise * rng.standard_normal((n, channels, length))
    t = np.arange(length, dtype=np.float64)
    for i, code in enumerate(y):
        width = int(rng.integers(length // 6, length // 3 + 1))
        start = int(rng.integers(0, length - width + 1))
        amplitude = rng.uniform(1.0, 2.0) * rng.choice((-1.0, 1.0))
        u = (t[start : start + width] - start) / width
        X[i, 0, start : start + width] += amplitude * _shape(int(code), u, rng)
        X[i, 0] += rng.uniform(-0.5, 0.5)
    return X.astype(np.float32), y
