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
(``x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16``)
on ``int32`` tensors, in place (products wrap modulo 2^32, which is what the
hash wants; shifts are masked to be logical). The key is chained:
``k = h(h(h(seed) ^ stream) ^ counter)``, then ``h(k ^ h(i))`` for element
``i``. Uniforms take the top 24 bits: ``u = (h >> 8) / 2^24`` in ``[0, 1)``;
normals use Box-Muller on pairs of uniforms (both the cosine and sine outputs).

Cost (``benchmarks/regularization.py``): one pass of about 12 integer ops over
``P x n`` int32 words, single-threaded about half the time of ``torch.rand`` of
the same size, and no Python loop over members.
"""

from __future__ import annotations

import math

import torch

#: a step counter: one int for every member, or a ``(P,)`` integer tensor, one per member
Counter = int | torch.Tensor

MASK32 = 0xFFFFFFFF
_C1 = 0x7FEB352D
_C2 = 0x846CA68B - (1 << 32)  # the same 32 bits as a signed int32


def _i32(x: torch.Tensor) -> torch.Tensor:
    """The low 32 bits of an int64 tensor as int32 (two's complement)."""
    x = x & MASK32
    return torch.where(x >= 2**31, x - 2**32, x).to(torch.int32)


def _mix_(x: torch.Tensor) -> torch.Tensor:
    """``lowbias32`` in place on an int32 tensor (products wrap mod 2^32; the masks
    after each shift make the arithmetic shifts logical)."""
    x ^= (x >> 16) & 0xFFFF
    x *= _C1
    x ^= (x >> 15) & 0x1FFFF
    x *= _C2
    x ^= (x >> 16) & 0xFFFF
    return x


def member_keys(seeds: torch.Tensor, stream: int, counter: Counter) -> torch.Tensor:
    """Keys ``(P,)`` int32 from member seeds ``(P,)``, a stream id and a counter (shared, or
    ``(P,)``: member ``p`` keyed by ``counter[p]``, the same key as alone with that int)."""
    k = _mix_(_i32(seeds.to(torch.int64)))
    k ^= _i32(torch.tensor(int(stream), device=seeds.device))
    _mix_(k)
    if isinstance(counter, torch.Tensor):
        k ^= _i32(counter.to(device=seeds.device, dtype=torch.int64))
    else:
        k ^= _i32(torch.tensor(int(counter), device=seeds.device))
    return _mix_(k)


def _bits(keys: torch.Tensor, n: int) -> torch.Tensor:
    """``(P, n)`` hashed 32-bit words: ``h(key_p ^ h(i))``."""
    idx = _mix_(torch.arange(n, dtype=torch.int32, device=keys.device))
    return _mix_(keys.reshape(-1, 1) ^ idx.reshape(1, -1))


def _unit(h: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Top 24 bits of each word as a float in ``[0, 1)``."""
    return ((h >> 8) & 0xFFFFFF).to(dtype).mul_(2.0**-24)


def uniform(
    seeds: torch.Tensor,
    stream: int,
    counter: Counter,
    shape: tuple[int, ...],
    *,
    dtype: torch.dtype = torch.float32,
    bits: int = 24,
) -> torch.Tensor:
    """Uniforms in ``[0, 1)`` of shape ``(P, *shape)``; row ``p`` depends on ``seeds[p]`` only.

    ``bits=24``: one hashed word per number (resolution 2^-24). ``bits=16``: each
    word gives two numbers (its low and high halves, resolution 2^-16), half the
    hashing; enough for dropout masks, where ``u >= rate`` only needs ``rate`` to
    about 1e-5.
    """
    keys = member_keys(seeds, stream, counter)
    n = math.prod(shape)
    if bits == 16:
        h = _bits(keys, (n + 1) // 2)
        lo = (h & 0xFFFF).to(dtype)
        hi = ((h >> 16) & 0xFFFF).to(dtype)
        u = torch.cat([lo, hi], dim=1)[:, :n].mul_(2.0**-16)
        return u.reshape(keys.shape[0], *shape)
    if bits != 24:
        raise ValueError(f"bits must be 16 or 24, got {bits}")
    return _unit(_bits(keys, n), dtype).reshape(keys.shape[0], *shape)


def bernoulli_keep(
    seeds: torch.Tensor, stream: int, counter: Counter, shape: tuple[int, ...], rate: torch.Tensor
) -> torch.Tensor:
    """Bool ``(P, *shape)``: ``u >= rate_p`` for the 16-bit uniforms ``u = k / 2^16`` of
    :func:`uniform` (``bits=16``), compared as integers: ``k >= ceil(rate_p 2^16)``."""
    keys = member_keys(seeds, stream, counter)
    n = math.prod(shape)
    h = _bits(keys, (n + 1) // 2)
    threshold = torch.ceil(rate.to(torch.float64) * 2.0**16).to(torch.int32).reshape(-1, 1)
    keep = torch.cat([(h & 0xFFFF) >= threshold, ((h >> 16) & 0xFFFF) >= threshold], dim=1)
    return keep[:, :n].reshape(keys.shape[0], *shape)


def normal(
    seeds: torch.Tensor,
    stream: int,
    counter: Counter,
    shape: tuple[int, ...],
    *,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Standard normals ``(P, *shape)`` by Box-Muller on pairs of uniforms ``(u1, u2)``:
    ``r = sqrt(-2 ln u1)`` gives the two normals ``r cos(2 pi u2)`` and ``r sin(2 pi u2)``."""
    keys = member_keys(seeds, stream, counter)
    n = math.prod(shape)
    half = (n + 1) // 2
    h = _bits(keys, 2 * half)
    u1 = 1.0 - _unit(h[:, :half], dtype)  # (0, 1]
    angle = _unit(h[:, half:], dtype).mul_(2.0 * math.pi)
    r = torch.log(u1).mul_(-2.0).sqrt_()
    z = torch.cat([r * torch.cos(angle), r * torch.sin(angle)], dim=1)[:, :n]
    return z.reshape(keys.shape[0], *shape)


# Stream ids: one per use, so no two uses share random numbers.
STREAM_INPUT_DROPOUT = 1
STREAM_DROPOUT = 16  # + hidden layer index
STREAM_WEIGHT_NOISE = 64
STREAM_INPUT_NOISE = 65
STREAM_AUG_PARTNER = 67
STREAM_AUG_MIX = 68
STREAM_AUG_SHIFT = 69
STREAM_AUG_ROTATE = 70
STREAM_AUG_SCALE = 71
STREAM_ORDER = 80
STREAM_BOOTSTRAP = 81
