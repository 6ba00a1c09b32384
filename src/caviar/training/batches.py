"""Which training rows each mini-batch holds: batch-size schedule and per-member sampling.

Batch-size schedule (:ref:`bg-batch-size`: start with a small
batch and grow it with the epochs): in epoch ``e``

    B(e) = min(n, B_max, round(B_0 * growth ** floor(e / every)))

(``growth = 1``: the constant ``B_0``). With batch normalization a last batch of
a single example (whose variance is 0) is merged into the previous batch.

Sampling (the data a member sees; different data make different
models, :ref:`bg-ensembles`):

* ``shared``: one shuffled order for the whole population (``train.shuffle_seed``);
  batches are row indices ``(B,)`` and inputs ``(B, F)``.
* ``shuffle``: each member its own order, drawn from its own seed (seed
  ensembles); indices ``(P, B)`` and inputs ``(P, B, F)``.
* ``bootstrap``: each member trains on its own bootstrap sample (``n`` rows drawn
  with replacement from its seed, once), visited in the shared order (bagging,
  :ref:`bg-ensembles`).
"""

from __future__ import annotations

import torch

from caviar.nn import random as rnd


def batch_size_at(
    epoch: int, base: int, n: int, *, growth: float = 1.0, every: int = 1, cap: int | None = None
) -> int:
    """The mini-batch size of epoch ``epoch`` (0-based)."""
    size = int(round(base * growth ** (epoch // every)))
    return max(1, min(n, size, cap if cap is not None else n))


def batch_bounds(n: int, size: int, *, no_single: bool = False) -> list[tuple[int, int]]:
    """``(start, end)`` of each mini-batch; ``no_single`` merges a last batch of one row."""
    bounds = [(s, min(s + size, n)) for s in range(0, n, size)]
    if no_single and len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


def member_orders(seeds: torch.Tensor, n: int, epoch: int) -> torch.Tensor:
    """A random permutation of ``range(n)`` per member, ``(P, n)``, from its own seed."""
    u = rnd.uniform(seeds, rnd.STREAM_ORDER, epoch, (n,), dtype=torch.float64)
    return torch.argsort(u, dim=1, stable=True)


def bootstrap_rows(seeds: torch.Tensor, n: int) -> torch.Tensor:
    """``n`` rows drawn with replacement per member, ``(P, n)``, from its own seed."""
    u = rnd.uniform(seeds, rnd.STREAM_BOOTSTRAP, 0, (n,), dtype=torch.float64)
    return (u * n).long().clamp_max(n - 1)
