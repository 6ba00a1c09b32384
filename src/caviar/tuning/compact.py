"""Shrinking a running population to its live members (no checkpoint files).

A stopped member (pruned, early-stopped, diverged) is frozen but still costs a
forward and backward pass in the vectorized program. When half of a population
has stopped, :func:`compact` builds a trainer over the surviving rows and moves
every per-member tensor there by row selection: weights, optimizer state and
hyperparameters, schedule and regularization knobs, batch-norm running statistics
(current and best-epoch), early-stopping record, status masks, histories and the
member diagnostics (initialization checks, the gradient monitor's norms so far). The
shuffling generator and the global step (the counter of the per-member random
streams of dropout, noise and augmentation) are carried over, so the survivors
continue exactly as they would have in the full population, and alone.
"""

from __future__ import annotations

import torch

from caviar.training.fold_sizes import carry_order
from caviar.training.trainer import PopulationTrainer


@torch.no_grad()
def compact(old: PopulationTrainer, keep: list[int]) -> PopulationTrainer:
    """A trainer holding rows ``keep`` of ``old``, in the same state."""
    idx = torch.as_tensor(keep, dtype=torch.long, device=old.device)
    new = PopulationTrainer(
        [old.configs[i] for i in keep], old.data, callbacks=old.callbacks, on_epoch=old.on_epoch
    )
    new.model.flat.copy_(old.model.flat.index_select(0, idx))
    sd = old.optimizer.state_dict()
    sd["hypers"] = {k: v.index_select(0, idx) for k, v in sd["hypers"].items()}
    sd["state"] = [{k: v.index_select(0, idx) for k, v in s.items()} for s in sd["state"]]
    new.optimizer.load_state_dict(sd)
    for group in ("optimizer", "loss", "penalty", "schedule", "regularize"):
        for name, v in (getattr(old.knobs, group, None) or {}).items():
            getattr(new.knobs, group)[name].copy_(v.index_select(0, idx))
    new.regularization.refresh()
    new.model.stats.copy_(old.model.stats.index_select(0, idx))
    new.best_stats.copy_(old.best_stats.index_select(0, idx))
    new.snapshot_every = old.snapshot_every
    for name, v in old.schedule.params.items():
        new.schedule.params[name].copy_(v.index_select(0, idx))
    new.knobs.leaky_slope.copy_(old.knobs.leaky_slope.index_select(0, idx))
    new.knobs.patience.copy_(old.knobs.patience.index_select(0, idx))
    new.knobs.min_delta.copy_(old.knobs.min_delta.index_select(0, idx))
    for name in ("best", "best_epoch", "wait", "best_flat"):
        setattr(new.stopper, name, getattr(old.stopper, name).index_select(0, idx).clone())
    for name in ("alive", "diverged", "stopped", "pruned", "finished", "epochs_run"):
        setattr(new, name, getattr(old, name).index_select(0, idx).clone())
    new.history = {k: [h.index_select(0, idx) for h in v] for k, v in old.history.items()}
    new.epoch = old.epoch
    carry_order(old, new, idx)  # shuffling generators and step counts (training/fold_sizes)
    new._refresh_knobs()
    new.member_ids = [old.member_ids[i] for i in keep]  # type: ignore[attr-defined]
    # the diagnostics of the rows kept: initialization checks, gradient norms so far
    new.init_check = [old.init_check[i] for i in keep]
    rows = idx.cpu()
    new.grad_monitor.norms = [n.index_select(0, rows) for n in old.grad_monitor.norms]
    for name in ("pbt_log", "stopped_by"):
        if hasattr(old, name):
            setattr(new, name, getattr(old, name))
    return new
