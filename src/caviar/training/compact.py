"""A running population's rows as a trainer of their own, and back (no checkpoint files).

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

:func:`join_rows` is the inverse: it writes trainers over disjoint rows of a population
back into the whole one (:mod:`caviar.training.side_by_side` trains the two halves of a
population side by side on a busy machine and joins them).
"""

from __future__ import annotations

import torch

from caviar.training.fold_sizes import carry_order


@torch.no_grad()
def compact(old, keep: list[int]):
    """A trainer (of ``old``'s class) holding rows ``keep`` of ``old``, in the same state."""
    idx = torch.as_tensor(keep, dtype=torch.long, device=old.device)
    new = type(old)(
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
    ids = getattr(old, "member_ids", range(old.size))
    new.member_ids = [ids[i] for i in keep]  # type: ignore[attr-defined]
    # the diagnostics of the rows kept: initialization checks, gradient norms so far
    new.init_check = [old.init_check[i] for i in keep]
    rows = idx.cpu()
    new.grad_monitor.norms = [n.index_select(0, rows) for n in old.grad_monitor.norms]
    for name in ("pbt_log", "stopped_by"):
        if hasattr(old, name):
            setattr(new, name, getattr(old, name))
    return new


#: Per-member state of a trainer that :func:`join_rows` writes back, row by row.
ROW_STATE = ("alive", "diverged", "stopped", "pruned", "finished", "epochs_run")
STOPPER_STATE = ("best", "best_epoch", "wait", "best_flat")


@torch.no_grad()
def join_rows(whole, parts: list[tuple]) -> None:
    """Write each ``part``, a trainer over rows ``keep`` of ``whole`` (:func:`compact`)
    that has run the same epochs, back into those rows of ``whole``: weights, optimizer
    state and hyperparameters, knobs and schedule, batch-norm statistics, early-stopping
    record, status masks, histories, gradient norms and the epoch and step counters."""
    sd = whole.optimizer.state_dict()
    for part, keep in parts:
        idx = torch.as_tensor(keep, dtype=torch.long, device=whole.device)
        whole.model.flat.index_copy_(0, idx, part.model.flat)
        psd = part.optimizer.state_dict()
        for name, v in psd["hypers"].items():
            sd["hypers"][name] = sd["hypers"][name].index_copy(0, idx, v)
        for state, pstate in zip(sd["state"], psd["state"], strict=True):
            for name, v in pstate.items():  # ``whole`` took no step: its state is empty
                base = state.get(name, v.new_zeros((whole.size, *v.shape[1:])))
                state[name] = base.index_copy(0, idx, v)
        for group in ("optimizer", "loss", "penalty", "schedule", "regularize"):
            for name, v in (getattr(part.knobs, group, None) or {}).items():
                getattr(whole.knobs, group)[name].index_copy_(0, idx, v)
        for name, v in part.schedule.params.items():
            whole.schedule.params[name].index_copy_(0, idx, v)
        for name in ("leaky_slope", "patience", "min_delta"):
            getattr(whole.knobs, name).index_copy_(0, idx, getattr(part.knobs, name))
        whole.model.stats.index_copy_(0, idx, part.model.stats)
        whole.best_stats.index_copy_(0, idx, part.best_stats)
        for name in STOPPER_STATE:
            getattr(whole.stopper, name).index_copy_(0, idx, getattr(part.stopper, name))
        for name in ROW_STATE:
            getattr(whole, name).index_copy_(0, idx, getattr(part, name))
    whole.optimizer.load_state_dict(sd)
    whole.history = {k: _joined(whole, parts, lambda t, k=k: t.history[k]) for k in whole.history}
    whole.grad_monitor.norms = _joined(whole, parts, lambda t: t.grad_monitor.norms)
    first = parts[0][0]
    whole.epoch, whole.global_step = first.epoch, first.global_step
    whole.regularization.refresh()
    whole._refresh_knobs()


def _joined(whole, parts, series) -> list[torch.Tensor]:
    """Per epoch, the parts' ``(rows, ...)`` tensors of ``series(part)`` joined into one
    ``(P, ...)`` tensor in ``whole``'s row order."""
    out = []
    for epoch in range(len(series(parts[0][0]))):
        first = series(parts[0][0])[epoch]
        joined = first.new_empty((whole.size, *first.shape[1:]))
        for part, keep in parts:
            joined.index_copy_(0, torch.as_tensor(keep, device=joined.device), series(part)[epoch])
        out.append(joined)
    return out
