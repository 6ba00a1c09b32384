"""Any loss as a weighted mean over the batch (class and sample weights).

With per-example weights ``s_i`` (a class weight ``c_{y_i}`` times a sample weight
``w_i``) the batch loss of member ``p`` is

    L_p = Σ_i s_i ℓ_p,i / Σ_i s_i

from the loss's per-example values (``reduction="none"``), so every loss of the
registry takes weights without a weighted variant of its own. With class weights
alone this is ``torch.nn.functional.cross_entropy(weight=c)``'s mean; with all
``s_i = 1`` it is the plain mean.
"""

from __future__ import annotations

import torch


def weighted_loss(spec, out: torch.Tensor, target: torch.Tensor, weight, hypers) -> torch.Tensor:
    """``(P,)`` batch loss; ``weight`` ``(B,)``, ``(P, B)`` or None (the loss's own mean)."""
    if weight is None:
        return spec.fn(out, target, **hypers)
    per_example = spec.fn(out, target, reduction="none", **hypers)  # (P, B)
    w = weight.to(per_example.dtype).expand_as(per_example)
    # a batch whose weights are all 0 contributes 0 (not 0/0)
    return (per_example * w).sum(dim=1) / w.sum(dim=1).clamp_min(torch.finfo(w.dtype).tiny)
