"""Counter-based per-member random numbers: ``u = hash(member seed, stream, counter, index)``.

Population independence needs every member's dropout masks, noise and
augmentation to depend on that member's own seed only, never on the population
it is trained in. A ``torch.Generator`` per member would need a Python loop over
the members at every step; instead every random number is a pure function of
``(seed_p, stream, counter, i)`` computed with integer operations on tensors
(a counter-based generator in the spirit of Philox / Random123), so all ``P``
members draw in one batched call and the numbers of member ``p`` are identical
whether it is alone or one of 64.

The mixing function is Chris Wellons' ``lowbias32`` 32-bit integer hash
(``x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16``),
held in ``int64`` tensors and masked to 32 bits after every multiplication (a
32-bit by 32-bit product wraps in ``int64`` but its low 32 bits stay exact). The
key is chained: ``k = h(h(h(seed) ^ stream) ^ counter)``, then ``h(k ^ h(i))``
for element ``i``. Uniforms take the top 24 bits: ``u = (h >> 8) / 2^24`` in
``[0, 1)``; normals use Box-Muller on two independent uniforms.
"""

from __future__ import annotations

import math

import torch

MASK32 = 0xFFFFFFFF


def _mix(x: torch.Tensor) -> torch.Tensor:
    """``lowbias32`` on int64 tensors holding 32-bit values."""
    x = x ^ (x >> 16)
    x = (x * 0x7FEB352D) & MASK32
    x = x ^ (x >> 15)
    x = (x * 0x846CA68B) & MASK32
    return x ^ (x >> 16)


def member_keys(seeds: torch.Tensor, stream: int, counter: int) -> torch.Tensor:
    """Keys ``(P,)`` int64 from member seeds ``(P,)``, a stream id and a counter."""
    s = seeds.to(torch.int64) & MASK32
    k = _mix(_mix(s) ^ (int(stream) & MASK32))
    return _mix(k ^ (int(counter) & MASK32))


def _bits(keys: torch.Tensor, shape: tuple[int, ...], offset: int = 0) -> torch.Tensor:
    n = math.prod(shape)
    idx = torch.arange(offset, offset + n, dtype=torch.int64, device=keys.device)
    h = _mix(keys.reshape(-1, 1) ^ _mix(idx).reshape(1, -1))
    return h.reshape(keys.shape[0], *shape)


def uniform(
    seeds: torch.Tensor,
    stream: int,
    counter: int,
    shape: tuple[int, ...],
    *,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Uniforms in ``[0, 1)`` of shape ``(P, *shape)``; row ``p`` depends on ``seeds[p]`` only."""
    h = _bits(member_keys(seeds, stream, counter), tuple(shape))
    return (h >> 8).to(dtype) * (2.0**-24)


def normal(
    seeds: torch.Tensor,
    stream: int,
    counter: int,
    shape: tuple[int, ...],
    *,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Standard normals ``(P, *shape)`` by Box-Muller: ``sqrt(-2 ln u1) cos(2 pi u2)``."""
    keys = member_keys(seeds, stream, counter)
    n = math.prod(shape)
    u1 = ((_bits(keys, (n,)) >> 8).to(torch.float64) + 1.0) * (2.0**-24)  # (0, 1]
    u2 = (_bits(keys, (n,), offset=n) >> 8).to(torch.float64) * (2.0**-24)
    z = torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)
    return z.to(dtype).reshape(keys.shape[0], *shape)


# Stream ids: one per use, so no two uses share random numbers.
STREAM_INPUT_DROPOUT = 1
STREAM_DROPOUT = 16  # + hidden layer index
STREAM_WEIGHT_NOISE = 64
STREAM_INPUT_NOISE = 65
STREAM_AUG_PARTNER = 67
STREAM_AUG_MIX = 68
STREAM_AUG_SHIFT = 69
STREAM_AUG_ROTATE = 70
STREAM_ORDER = 80
STREAM_BOOTSTRAP = 81
