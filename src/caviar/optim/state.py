"""Optimizer state of a population: per-parameter buffers, PBT row copies, checkpoints.

Each parameter tensor has one state dict, created on its first step
(:func:`init_state`): ``"step"``, a ``(P,)`` int64 counter of the updates each
member has taken, and the algorithm's buffers (``state_names``), each shaped like
the parameter. :func:`copy_member_rows` copies rows for population-based training
(member ``dst[j]`` gets member ``src[j]``'s buffers and step counter);
:func:`checked_states` validates and converts the states of a saved
``state_dict`` before an optimizer takes them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from caviar.errors import CaviarError


def init_state(p: torch.Tensor, size: int, state_names: Sequence[str]) -> dict[str, torch.Tensor]:
    """A fresh state for parameter ``p``: zero step counters and zero buffers."""
    state = {"step": torch.zeros(size, dtype=torch.int64, device=p.device)}
    for sname in state_names:
        state[sname] = torch.zeros_like(p, memory_format=torch.contiguous_format)
    return state


def copy_member_rows(
    states: Sequence[dict[str, torch.Tensor]],
    dst: torch.Tensor | Sequence[int],
    src: torch.Tensor | Sequence[int],
    *,
    size: int,
    device: torch.device,
    optimizer: str,
) -> None:
    """In every state of ``states``, row ``dst[j]`` of each buffer gets row ``src[j]``.

    Indices must be in ``[0, size)`` and the destinations distinct; sources are read
    before anything is written, so ``dst`` and ``src`` may overlap.
    """
    dst_t = torch.as_tensor(dst, dtype=torch.int64, device=device).reshape(-1)
    src_t = torch.as_tensor(src, dtype=torch.int64, device=device).reshape(-1)
    if dst_t.shape != src_t.shape:
        raise CaviarError(
            f"{optimizer}: copy_members needs as many sources as destinations, "
            f"got {src_t.numel()} and {dst_t.numel()}"
        )
    for t in (dst_t, src_t):
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= size):
            raise CaviarError(f"{optimizer}: member index out of range [0, {size}): {t.tolist()}")
    if len(set(dst_t.tolist())) != dst_t.numel():
        raise CaviarError(f"{optimizer}: copy_members destinations repeat: {dst_t.tolist()}")
    with torch.no_grad():
        for state in states:
            for v in state.values():
                v.index_copy_(0, dst_t, v.index_select(0, src_t))


def checked_states(
    saved: Sequence[Mapping[str, torch.Tensor]],
    params: Sequence[torch.Tensor],
    *,
    size: int,
    dtype: torch.dtype,
    state_names: Sequence[str],
    optimizer: str,
) -> list[dict[str, torch.Tensor]]:
    """The per-parameter states of a saved ``state_dict`` as copies on the parameters'
    device and dtype (``step``: int64), after checking that there is one per parameter
    and each is empty (no step taken) or holds exactly ``step`` and ``state_names``
    with the shapes of its parameter."""
    states = list(saved)
    if len(states) != len(params):
        raise CaviarError(
            f"{optimizer}: state dict has {len(states)} parameter states, expected {len(params)}"
        )
    out: list[dict[str, torch.Tensor]] = []
    for p, s in zip(params, states, strict=True):
        if not s:
            out.append({})
            continue
        expected = {"step", *state_names}
        if set(s) != expected:
            raise CaviarError(
                f"{optimizer}: state dict buffers {sorted(s)} do not match {sorted(expected)}"
            )
        new: dict[str, torch.Tensor] = {}
        for k, v in s.items():
            shape = (size,) if k == "step" else p.shape
            if tuple(v.shape) != tuple(shape):
                raise CaviarError(
                    f"{optimizer}: state buffer {k!r} has shape {tuple(v.shape)}, "
                    f"expected {tuple(shape)}"
                )
            kind = torch.int64 if k == "step" else dtype
            new[k] = v.detach().to(device=p.device, dtype=kind).clone()
        out.append(new)
    return out


def snapshot(states: Sequence[Mapping[str, torch.Tensor]]) -> list[dict[str, Any]]:
    """Detached copies of ``states`` (for a ``state_dict``)."""
    return [{k: v.detach().clone() for k, v in s.items()} for s in states]
