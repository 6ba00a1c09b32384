"""Exploding and vanishing gradients, per member, during training
(:ref:`bg-vanishing-gradients`).

After the last mini-batch of every epoch the monitor records, for each member ``p`` and
layer ``l``, ``n_pl(t) = ||dJ_p/dW_l||_2`` (the kernel's gradient; members no longer
training record NaN). From a member's record:

* **vanishing**: ``median_t n_p1(t) / n_pL(t) < VANISHING`` -- the first layer learns
  a thousand times slower than the last (a deep sigmoid network; use relu, batch norm
  or another initialization);
* **exploding**: some ``n_pl(t)`` is not finite or exceeds ``EXPLODING`` times that
  layer's reference norm -- its first recorded norm that is positive and finite (a
  first epoch whose gradient is exactly 0, e.g. dead relu units or a zero-initialized
  layer, is no reference: every later positive norm would exceed 1000 x 0) -- or the
  member diverged (its loss became NaN/inf, often
  within one epoch: the trainer froze it) -- lower the learning rate, normalize.

The record costs one norm per kernel per epoch (no extra pass). It is part of every
first-order run's member diagnostics (:mod:`caviar.training.member_diagnostics`); the
monitor is a default hook of the first-order trainer (``on_batches_end``,
:mod:`caviar.training.hooks`).
"""

from __future__ import annotations

import math

import torch

from caviar.training.hooks import Hook, HookState

VANISHING = 1e-3
EXPLODING = 1e3


class GradientMonitor(Hook):
    """Per-epoch per-layer kernel gradient norms of a population."""

    def __init__(self, model) -> None:
        self.model = model
        self.norms: list[torch.Tensor] = []  # per epoch: (P, L)

    def on_batches_end(self, state: HookState) -> None:
        """Default hook: record the epoch's last mini-batch gradient of the live members."""
        self.record(state.trainer.alive)

    @torch.no_grad()
    def record(self, alive: torch.Tensor) -> None:
        """Norms of the gradient now in ``flat.grad`` (the epoch's last mini-batch)."""
        grads = self.model.weights(self.model.flat.grad)
        n = torch.stack([g.flatten(1).norm(dim=1) for g in grads], dim=1)
        self.norms.append(torch.where(alive[:, None], n, torch.full_like(n, math.nan)).cpu())

    def member_report(self, p: int, *, diverged: bool = False) -> dict:
        """``{"per_epoch": [[n_l(t)] per layer], "first_to_last": median ratio, "warnings"}``."""
        msgs = []
        if diverged:
            msgs.append(
                "exploding: the loss became NaN/inf and the member was frozen "
                "(lower the learning rate, normalize inputs and targets)"
            )
        if not self.norms:
            return {"per_epoch": [], "first_to_last": math.nan, "warnings": msgs}
        n = torch.stack(self.norms)[:, p].double()  # (T, L)
        seen = n[~torch.isnan(n).all(dim=1)]
        ratio = math.nan
        if seen.shape[0] and n.shape[1] > 1:
            r = seen[:, 0] / seen[:, -1]
            r = r[torch.isfinite(r)]
            ratio = float(r.median()) if r.numel() else math.nan
            if ratio < VANISHING:
                msgs.append(
                    f"vanishing gradients: the first layer's gradient is {ratio:.1e} of the "
                    "last layer's (try relu, batch norm or another init)"
                )
        if seen.shape[0]:
            first = reference_norms(seen)
            bad = ~torch.isfinite(seen) | (seen > EXPLODING * first)
            if bool(bad.any()):
                t, layer = (int(v) for v in bad.nonzero()[0])
                msgs.append(
                    f"exploding gradients: layer {layer}'s gradient norm reached "
                    f"{float(seen[t, layer]):.3g} (first nonzero epoch "
                    f"{float(first[layer]):.3g}); lower the learning rate or normalize"
                )
        return {"per_epoch": n.T.tolist(), "first_to_last": ratio, "warnings": msgs}


def reference_norms(seen: torch.Tensor) -> torch.Tensor:
    """Per layer, the first recorded norm of ``seen`` (T, L) that is positive and finite;
    ``inf`` for a layer with none (so no growth ratio can flag it)."""
    usable = torch.isfinite(seen) & (seen > 0)
    first = usable.to(torch.int8).argmax(dim=0)  # first usable epoch (0 when none)
    ref = seen.gather(0, first[None]).squeeze(0)
    return torch.where(usable.any(dim=0), ref, torch.full_like(ref, math.inf))


THINNED = 100


def thinned(per_epoch: list[list[float]], at_most: int = THINNED) -> dict | None:
    """A member's per-layer norms at no more than ``at_most`` evenly spaced epochs (the
    first and last included; what a tune trial stores): ``{"epochs": [1-based], "per_epoch":
    [[n_l(t)] per layer]}``, None when nothing was recorded."""
    if not per_epoch or not per_epoch[0]:
        return None
    n = len(per_epoch[0])
    keep = (
        sorted({round(k * (n - 1) / (at_most - 1)) for k in range(at_most)})
        if n > at_most
        else range(n)
    )
    return {
        "epochs": [t + 1 for t in keep],
        "per_epoch": [[series[t] for t in keep] for series in per_epoch],
    }
