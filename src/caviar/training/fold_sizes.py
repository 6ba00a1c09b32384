"""Cross-validation folds of unequal sizes in one population: every member trains on
exactly the mini-batches it trains on alone.

With ``N mod k != 0`` the held-out folds (scikit-learn's ``KFold``/``StratifiedKFold``,
:func:`caviar.data.folds.cv_splits`) have ``m + 1`` or ``m`` rows, so the fold members of
a population train on ``n_g = N - m_g`` rows: at most two *size groups* ``g``. Alone, a
member of group ``g`` visits its ``n_g`` rows each epoch in the order
``torch.randperm(n_g)`` of a generator seeded with ``train.shuffle_seed`` (or its own
order, ``train.sampling``), cut into the batches ``batch_bounds(n_g, B_g)`` (the last one
smaller); its ``s``-th step of an epoch of ``S_g`` steps uses the learning-rate multiplier
at ``t = epoch + s / S_g`` and random streams keyed by its own step count. Inside the
population (:class:`FoldSizes`):

* each group draws its order from a generator of its own, seeded alike, so the orders
  are those of the members alone (``tensors.rows`` is padded at the end to the largest
  member's rows; the padding is never part of a batch of its member);
* population step ``s`` runs one optimizer step for each distinct batch ``(start, end)``
  that the groups with an ``s``-th step have there, in which only the members of those
  groups take part: the others are frozen for it (``trainer.alive`` masked, so their
  parameters, optimizer state and step counters, batch-norm statistics and divergence
  flags do not change). A group whose epoch has fewer batches, or whose batch there has
  another size, sits that step out; groups whose batches coincide share one step;
* ``t`` is per member and ``trainer.global_step`` is a ``(P,)`` count of each member's
  own steps (the key of its random streams, :mod:`caviar.nn.random`);
* the training loss and score are summed per group over its own batches
  (``loss = sum of batch loss x batch rows / n_g``); validation runs one forward pass
  over the padded held-out inputs and scores, for each held-out size ``m``, the first
  ``m`` outputs of the members holding out ``m`` rows.

A population whose folds all have one size (``N`` divisible by ``k``, or one fold) never
comes here: it trains on the trainer's shared batches. Cost: the groups' batches coincide
except at the end of an epoch, so an epoch takes one step more than alone (about
``1 / steps`` more work, 6% measured for 63 steps of a small MLP under load); with
``batch_size = "full"`` every step differs and runs once per group (twice the work).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from caviar.training.evaluate import predict_outputs


class FoldSizes:
    """The size groups of a population of folds with unequal training sizes."""

    def __init__(self, trainer, counts: list[int], val_counts: list[int]) -> None:
        device = trainer.device
        self.sizes = sorted(set(counts))  # n_g, one per group
        n = torch.tensor(counts, device=device)
        self.masks = [n == size for size in self.sizes]
        seed = int(trainer.configs[0].train.shuffle_seed)
        self.generators = [torch.Generator().manual_seed(seed) for _ in self.sizes]
        m = torch.tensor(val_counts, device=device)
        self.held_out = [(size, m == size) for size in sorted(set(val_counts))]

    @classmethod
    def of(
        cls, trainer, train_rows: list[np.ndarray], val_rows: list[np.ndarray]
    ) -> FoldSizes | None:
        """The size groups of members training on ``train_rows`` and validating on
        ``val_rows``, or None when every member has the same sizes."""
        counts, val_counts = [len(r) for r in train_rows], [len(r) for r in val_rows]
        if len(set(counts)) == 1 and len(set(val_counts)) == 1:
            return None
        return cls(trainer, counts, val_counts)

    def _select(self, masks: list[torch.Tensor], values: list[torch.Tensor]) -> torch.Tensor:
        """``(P,)``: member ``p`` takes ``values[i][p]`` for the mask ``i`` it is in."""
        out = values[0]
        for mask, value in zip(masks[1:], values[1:], strict=True):
            out = torch.where(mask, value, out)
        return out

    def _per_member(self, per_group: list[int]) -> torch.Tensor:
        """``(P,)`` float64: each member its group's value."""
        out = torch.zeros(self.masks[0].shape, dtype=torch.float64, device=self.masks[0].device)
        for mask, value in zip(self.masks, per_group, strict=True):
            out[mask] = float(value)
        return out

    def steps(self, trainer, epoch: int) -> torch.Tensor:
        """``(P,)`` each member's number of steps in ``epoch`` (float64)."""
        return self._per_member([len(trainer.epoch_bounds(epoch, n)) for n in self.sizes])

    def _epoch_rows(self, trainer) -> torch.Tensor:
        """``(P, n_max)``: each member's training rows in its order of this epoch."""
        t, reg = trainer.tensors, trainer.regularization
        rows = t.rows.clone()
        for n, generator, mask in zip(self.sizes, self.generators, self.masks, strict=True):
            perm = torch.randperm(n, generator=generator).to(trainer.device)
            ordered = t.member_rows(reg.epoch_rows(perm, trainer.epoch), n)
            rows[mask, :n] = ordered[mask]
        return rows

    def train_epoch(self, trainer) -> tuple[torch.Tensor, torch.Tensor]:
        """One epoch, every member on its own batches (module docstring): the epoch's
        training loss and score ``(P,)``."""
        epoch = trainer.epoch
        bounds = [trainer.epoch_bounds(epoch, n) for n in self.sizes]
        steps = self._per_member([len(b) for b in bounds])
        rows = self._epoch_rows(trainer)
        if isinstance(trainer.global_step, int):  # from here on, one count per member
            count = trainer.global_step
            trainer.global_step = torch.full(steps.shape, count, device=steps.device)
        zero = torch.zeros(trainer.size, dtype=trainer.dtype, device=trainer.device)
        sums = [zero for _ in self.sizes]  # replaced, never added to in place
        scores = [trainer.epoch_score() for _ in self.sizes]
        last_grad = None  # each member's gradient of its last batch (the gradient monitor's)
        for s in range(max(len(b) for b in bounds)):
            for (start, end), groups in _shared_batches(bounds, s).items():
                members = self._members(groups)
                scale = None if trainer.schedule.constant else trainer.schedule(epoch + s / steps)
                with _only(trainer, members):
                    loss, out, yb, wb = trainer.train_step(rows[:, start:end], scale)
                trainer.global_step += 1 if members is None else members.long()
                with torch.no_grad():
                    for g in groups:
                        sums[g] = sums[g] + loss * (end - start if wb is None else wb.sum(dim=-1))
                        scores[g].add(out, yb, wb)
                    ending = [self.masks[g] for g in groups if s == len(bounds[g]) - 1]
                    if ending:
                        last_grad = _keep_rows(last_grad, trainer.model.flat.grad, ending)
        if last_grad is not None:
            trainer.model.flat.grad.copy_(last_grad)
        return self._results(trainer, sums, scores)

    def _members(self, groups: list[int]) -> torch.Tensor | None:
        """The ``(P,)`` mask of the members of ``groups``; None for all of them."""
        if len(groups) == len(self.sizes):
            return None
        return torch.stack([self.masks[g] for g in groups]).any(dim=0)

    def _results(self, trainer, sums, scores) -> tuple[torch.Tensor, torch.Tensor]:
        """Each member's training loss and score from its group's sums."""
        t, w = trainer.tensors, trainer.w_train
        losses, values = [], []
        for n, total, score in zip(self.sizes, sums, scores, strict=True):
            losses.append(total / (n if w is None else t.row_weights(w, n).sum(-1)))
            values.append(score.result(t.fit_targets(n)))
        return self._select(self.masks, losses), self._select(self.masks, values)

    def evaluate(self, trainer) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Validation loss, score and default score ``(P,)``, each member on its own
        ``m`` held-out rows (one forward pass, scored once per held-out size)."""
        t, w, model = trainer.tensors, trainer.w_val, trainer.model
        out = predict_outputs(model, t.x_val, slope=trainer.knobs.leaky_slope, stats=model.stats)
        passes = [
            trainer.evaluate(
                t.x_val[:, :m], t.y_val[:, :m], None if w is None else w[:, :m], out[:, :m]
            )
            for m, _ in self.held_out
        ]
        masks = [mask for _, mask in self.held_out]
        loss, score, default = (self._select(masks, [p[i] for p in passes]) for i in range(3))
        return loss, score, default


def _shared_batches(bounds: list[list[tuple[int, int]]], s: int) -> dict:
    """``{(start, end): [groups]}``: the ``s``-th batch of each group that has one."""
    batches: dict[tuple[int, int], list[int]] = {}
    for g, b in enumerate(bounds):
        if s < len(b):
            batches.setdefault(b[s], []).append(g)
    return batches


def _keep_rows(kept: torch.Tensor | None, grad: torch.Tensor, masks: list) -> torch.Tensor:
    """``kept`` with the rows of the members in ``masks`` taken from ``grad``."""
    mask = torch.stack(masks).any(dim=0).reshape(-1, *([1] * (grad.dim() - 1)))
    return grad.clone() if kept is None else torch.where(mask, grad, kept)


@contextmanager
def _only(trainer, members: torch.Tensor | None) -> Iterator[None]:
    """Only ``members`` (None: all) take part in what runs inside (the others frozen, as
    diverged members are; a member that diverges inside stays marked)."""
    if members is None:
        yield
        return
    alive = trainer.alive
    trainer.alive = alive & members
    try:
        yield
    finally:
        trainer.alive = trainer.alive | (alive & ~members)


def _order_states(trainer) -> dict[int, torch.Tensor]:
    """The state of the shuffling generator of each training size of ``trainer``."""
    sizes = trainer.fold_sizes
    if sizes is None:
        return {trainer.n_train: trainer._generator.get_state()}
    return {n: g.get_state() for n, g in zip(sizes.sizes, sizes.generators, strict=True)}


def carry_order(old, new, idx: torch.Tensor) -> None:
    """Give ``new``, a trainer over the rows ``idx`` of ``old`` (population compaction),
    the state of ``old``'s shuffling generators and its members' step counts, so that
    they go on visiting the batches and random streams they would have in ``old``."""
    states = _order_states(old)
    sizes = new.fold_sizes
    if sizes is None:
        new._generator.set_state(states[new.n_train])
    else:
        for n, generator in zip(sizes.sizes, sizes.generators, strict=True):
            generator.set_state(states[n])
    steps = old.global_step
    if isinstance(steps, torch.Tensor):
        steps = steps.index_select(0, idx.to(steps.device))
        if sizes is None:  # the rows kept are of one size: one count
            steps = int(steps[0])
    new.global_step = steps
