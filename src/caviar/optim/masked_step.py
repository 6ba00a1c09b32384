"""The masked step of a population optimizer: frozen members do not change.

``alive`` is a ``(P,)`` bool mask; members that are not alive keep their
parameters, optimizer state and step counters, and their gradients (NaN or inf
included) never reach anything that survives the step. Masking never multiplies
by the mask (``NaN * 0`` is NaN). :func:`member_rows` decides how:

* with few frozen members (at least half alive) the update runs on all rows and
  the frozen rows of the parameter and state are then copied back from a saved
  copy (``index_copy_``: the same result as ``torch.where(alive, new, old)`` at a
  cost proportional to the frozen rows);
* with more than half frozen, the alive rows are gathered, updated and scattered
  back, so frozen rows are not even read.

Either way alive members get bitwise the same update as without a mask, and
``alive=None`` (or all ``True``) costs nothing. :func:`masked_update` applies one
parameter's update that way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

#: ``update(param, grad, state, hypers, lr, scratch)``: one in-place update of all rows given
Update = Callable[
    [
        torch.Tensor,
        torch.Tensor,
        dict[str, torch.Tensor],
        dict[str, torch.Tensor],
        torch.Tensor,
        "torch.Tensor | None",
    ],
    None,
]


@dataclass(frozen=True)
class MemberRows:
    """Which rows a step touches: all (both None), all then ``frozen`` restored, or only
    the ``alive`` rows."""

    frozen: torch.Tensor | None = None
    alive: torch.Tensor | None = None


def member_rows(alive: torch.Tensor | None, size: int) -> MemberRows | None:
    """How to mask a step for the ``(size,)`` bool mask ``alive``; None when no member is
    alive (nothing to do)."""
    if alive is None:
        return MemberRows()
    alive = alive.to(torch.bool)
    n_alive = int(alive.sum())
    if n_alive == 0:
        return None
    if n_alive == size:
        return MemberRows()
    if 2 * n_alive >= size:
        return MemberRows(frozen=(~alive).nonzero().squeeze(1))
    return MemberRows(alive=alive.nonzero().squeeze(1))


def masked_update(
    update: Update,
    rows: MemberRows,
    p: torch.Tensor,
    grad: torch.Tensor,
    state: dict[str, torch.Tensor],
    hypers: dict[str, torch.Tensor],
    lr: torch.Tensor,
    scratch: torch.Tensor | None,
) -> None:
    """Apply ``update`` to parameter ``p`` and its ``state`` on the rows ``rows`` says
    (``scratch``: the parameter's scratch buffer, for the update of all rows; the
    update of gathered alive rows gets None)."""
    if rows.alive is not None:
        idx = rows.alive
        sub_p = p.index_select(0, idx)
        sub_state = {k: v.index_select(0, idx) for k, v in state.items()}
        sub_hypers = {k: v.index_select(0, idx) for k, v in hypers.items()}
        update(
            sub_p, grad.index_select(0, idx), sub_state, sub_hypers, lr.index_select(0, idx), None
        )
        p.index_copy_(0, idx, sub_p)
        for k, v in state.items():
            v.index_copy_(0, idx, sub_state[k])
        return
    saved: dict[str, torch.Tensor] = {}
    saved_p: torch.Tensor | None = None
    if rows.frozen is not None:
        saved_p = p.index_select(0, rows.frozen)
        saved = {k: v.index_select(0, rows.frozen) for k, v in state.items()}
    update(p, grad, state, hypers, lr, scratch)
    if rows.frozen is not None:
        assert saved_p is not None
        p.index_copy_(0, rows.frozen, saved_p)
        for k, v in state.items():
            v.index_copy_(0, rows.frozen, saved[k])
