"""Refuse a population that cannot fit in memory before allocating it.

A population of ``P`` members with ``N`` parameters each holds at least ``COPIES = 5``
arrays of ``P x N`` values while it trains: the weights, their gradient, two optimizer
moments (Adam's m and v; fewer for SGD, but the bound is for the common case) and the
best weights kept for early stopping; and per mini-batch of ``B`` examples ``ACTS = 3``
arrays of ``P x B x W`` activation values (pre-activations, activations and their
gradients; ``W`` = the summed width of the layers). So it needs at least
``need = itemsize * P * (COPIES * N + ACTS * B * W)`` bytes. When ``need`` exceeds the
memory available on the device (``MemAvailable`` in ``/proc/meminfo`` on CPU, free
memory on CUDA) the run is refused with one line giving ``need``, instead of dying in
the allocator (or swapping the machine to a halt).
"""

from __future__ import annotations

import torch

from caviar.errors import CaviarError

COPIES = 5
ACTS = 3


def mlp_parameters(sizes: list[int]) -> int:
    """``N = sum_l (fan_in_l + 1) * fan_out_l``: one member's weights and biases."""
    return sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))


def available_bytes(device: str) -> int | None:
    """Free memory of ``device`` in bytes, or None when unknown."""
    if str(device).startswith("cuda") and torch.cuda.is_available():
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_fits(
    n_params: int,
    members: int,
    dtype: torch.dtype,
    device: str,
    what: str,
    activations: int = 0,
) -> None:
    """Raise a one-line :class:`CaviarError` when the population cannot fit (module doc);
    ``activations``: ``B * W``, the activation values of one member's mini-batch."""
    itemsize = torch.empty((), dtype=dtype).element_size()
    need = itemsize * members * (COPIES * n_params + ACTS * activations)
    free = available_bytes(device)
    if free is not None and need > free:
        raise CaviarError(
            f"{what}: the population needs at least {need / 2**30:.1f} GiB ({n_params:,} "
            f"parameters and {activations:,} activation values per batch, x {members} "
            f"member(s), {itemsize} bytes each) but {free / 2**30:.1f} GiB is free on "
            f"{device}; use smaller layers, smaller batches or fewer members"
        )
