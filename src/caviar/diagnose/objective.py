"""One member's training objective as a function of flat parameter rows.

``member_objective`` returns ``f(flat (R, N)) -> (R,)``: the data loss plus penalties
of the network evaluated at each row of ``flat``, with the member's knobs (loss
hyperparameters, penalty weights, leaky slope) shared by every row. Rows can be
perturbed copies of one member (finite differences) or several members.
"""

from __future__ import annotations

import torch

from caviar.losses import get_loss
from caviar.penalties import penalties


def member_objective(
    model,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    loss_name: str,
    loss_hypers: dict[str, float],
    penalty: dict[str, float],
    slope: float,
):
    """``f(flat) -> (R,)``: full-batch loss plus penalties of each parameter row."""
    spec = get_loss(loss_name)
    need_acts = penalty.get("l1_activity", 0.0) > 0 or penalty.get("l2_activity", 0.0) > 0

    def f(flat: torch.Tensor) -> torch.Tensor:
        R = flat.shape[0]
        s = torch.full((R,), float(slope), dtype=flat.dtype, device=flat.device)
        out, acts = model(x, slope=s, flat=flat, return_activities=True)
        hypers = {
            k: torch.full((R,), float(v), dtype=flat.dtype, device=flat.device)
            for k, v in loss_hypers.items()
        }
        loss = spec.fn(out, y, **hypers)
        pen = penalties(
            model.weights(flat), model.biases(flat), acts if need_acts else [], **penalty
        )
        return loss + pen

    return f
