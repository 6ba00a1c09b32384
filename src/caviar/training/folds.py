"""Cross-validation folds as members of one population (``train.cv``, ``search.cv``).

A member whose config has ``train.fold = f`` (set by
:func:`caviar.tuning.cross_validation.expand_folds`, never by hand) trains on fold ``f``
of train+validation (:func:`caviar.data.folds.cv_splits`, ``k = train.cv`` folds
seeded by ``data.seed``) and validates on its held-out rows. The ``k`` folds of a
configuration are consecutive rows of its population (fold 0 first): a *group*.

:func:`fold_population` turns a trainer's tensors into per-member views:

* training: the ``N`` rows of train+validation are shared; ``rows (P, n)`` holds each
  member's ``n = N - m`` training rows and the epoch's shared visiting order ``perm``
  of ``[0, n)`` becomes ``rows[p, perm]``, so member ``p`` sees batch ``s`` of
  ``X_fold_p[perm]`` exactly as it would trained alone on its fold;
* inputs: with a preprocessor, each fold's train+validation preprocessed with the
  statistics of its own training rows (:mod:`caviar.data.fold_preprocess`), ``(S, N, F)``
  for the ``S`` folds of the population, read per member through ``tensors.slot``;
* validation: inputs ``(P, m, F)``, targets and weights per member (``train.val_subsample``
  cuts each held-out fold as it cuts a validation split);
* folds of unequal sizes (``N mod k != 0``: the first ``N mod k`` held-out folds have one
  row more): ``rows`` and the validation inputs are padded at the end to the largest
  member's, and :class:`~caviar.training.fold_sizes.FoldSizes` runs each size group's
  own batches and validation, so that every member still sees exactly what it sees alone;
* the output layer's prior bias (``model.output_init = "prior"``, :ref:`bg-output-init`) of each MLP
  member from its own fold's training targets; class weights (``"balanced"``) count the
  classes of all of train+validation (within one row per class of each fold's).

Inside the population a configuration's folds act together (:ref:`bg-early-stopping`,
as ``lgb.cv``/``xgb.cv`` stop on the mean curve): early stopping watches the
fold mean of the validation loss or score (:func:`fold_mean`; the best epoch is the
best epoch of that mean curve, shared by the folds), and when one fold stops
(diverged, stopped, pruned) its group stops too (:func:`stop_groups`).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from caviar.data.fold_preprocess import fold_inputs
from caviar.data.folds import check_cv, cv_splits
from caviar.data.weights import train_val_weights
from caviar.errors import CaviarError
from caviar.losses import get_loss
from caviar.losses.registry import sigmoid_proba
from caviar.nn import output_bias
from caviar.optim.second_order import FULL_BATCH_METHODS
from caviar.training.fold_sizes import FoldSizes
from caviar.training.splits import Tensors, split_tensors
from caviar.training.validation_cadence import subsample_rows
from caviar.training.weights import split_weights


def is_folded(configs) -> bool:
    """Whether the members of ``configs`` are cross-validation folds."""
    return configs[0].train.fold is not None


def fold_groups(folds: list[int]) -> torch.Tensor:
    """``(P,)`` group ids: a new group starts where the fold index does not increase."""
    starts = [True] + [b <= a for a, b in zip(folds[:-1], folds[1:], strict=True)]
    return torch.as_tensor(np.cumsum(starts) - 1, dtype=torch.long)


def fold_population(trainer, data) -> None:
    """Per-member fold views of ``trainer``'s tensors (module docstring); nothing when its
    members are no folds."""
    configs = trainer.configs
    trainer.fold_sizes = None
    if not is_folded(configs):
        trainer.fold_group = None
        return
    first = configs[0]
    k = first.train.cv
    folds = [c.train.fold for c in configs]
    if k is None or any(f is None or not 0 <= f < k for f in folds):
        raise CaviarError("train.fold needs train.cv and a fold in [0, train.cv) on every member")
    x, y = data.train_val()
    every_fold, val_rows = cv_splits(y, k, data.task, first.data.seed)
    t = first.train
    val_rows = [_subsample(v, t.val_subsample, t.shuffle_seed) for v in val_rows]
    train_rows, val_rows = [every_fold[f] for f in folds], [val_rows[f] for f in folds]
    dtype, device = trainer.dtype, trainer.device
    pool = dataclasses.replace(data, X_train=x, y_train=y, w_train=train_val_weights(data))
    x_all, y_all = split_tensors(data.task, x, y, dtype, device)
    rows, vrows = _padded(train_rows, device), _padded(val_rows, device)
    inputs, slot = _fold_inputs(trainer, data, every_fold, folds)
    x_val = x_all[vrows] if slot is None else inputs[slot[:, None], vrows]
    trainer.tensors = Tensors(x_all, y_all, x_val, y_all[vrows], rows, inputs, slot)
    w = split_weights(first.train.class_weight, pool, "train", dtype, device)
    trainer.w_train = w
    trainer.w_val = None if w is None else w[vrows]
    trainer.fold_group = fold_groups(folds).to(device)
    trainer.fold_sizes = FoldSizes.of(trainer, train_rows, val_rows)
    _fold_priors(trainer, y, train_rows, None if w is None else w.cpu().numpy())


def _fold_inputs(trainer, data, every_fold: list[np.ndarray], folds: list[int]):
    """``(inputs (S, N, F), slot (P,))``: train+validation as each fold used by a member
    sees it, preprocessed with its own training rows' statistics
    (:func:`caviar.data.fold_preprocess.fold_inputs`), and each member's fold's index in
    ``inputs``; ``(None, None)`` for arrays used as given (no preprocessor to refit)."""
    if data.preprocessor is None or data.raw_train_val is None:
        return None, None
    used = sorted(set(folds))
    y = data.train_val()[1]
    dtype, device = trainer.dtype, trainer.device
    tables = [fold_inputs(data, every_fold[f]) for f in used]
    inputs = torch.stack([split_tensors(data.task, x, y, dtype, device)[0] for x in tables])
    slot = torch.as_tensor([used.index(f) for f in folds], device=trainer.device)
    return inputs, slot


def _subsample(rows: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """A held-out fold cut by ``train.val_subsample`` as a validation split is cut."""
    sub = subsample_rows(len(rows), n, seed)
    return rows if sub is None else rows[sub.numpy()]


def _padded(rows: list[np.ndarray], device) -> torch.Tensor:
    """``(P, width)`` row indices, each member's padded at the end with its first row."""
    width = max(len(r) for r in rows)
    pad = [np.concatenate([r, np.full(width - len(r), r[0], dtype=r.dtype)]) for r in rows]
    return torch.as_tensor(np.stack(pad), device=device)


@torch.no_grad()
def _fold_priors(trainer, y: np.ndarray, rows: list[np.ndarray], w: np.ndarray | None) -> None:
    """Each MLP member's output bias from its own fold's training targets.

    See :ref:`bg-output-init`.
    """
    first = trainer.configs[0]
    model = trainer.model
    if first.model.output_init != "prior" or not hasattr(model, "slices"):
        return
    last = model.slices[-1]
    sigmoid = get_loss(trainer.knobs.loss_name).proba is sigmoid_proba
    for p, r in enumerate(rows):
        bias = output_bias(
            y[r],
            task=trainer.data.task,
            n_outputs=model.n_outputs,
            weight=None if w is None else w[r],
            sigmoid=sigmoid,
        )
        model.flat[p, last.bias_start : last.end] = torch.as_tensor(bias, dtype=model.flat.dtype)


def fold_mean(trainer, values: torch.Tensor) -> torch.Tensor:
    """``values (P,)`` with each member's replaced by its group's mean over its folds
    (NaN when one fold is NaN); ``values`` itself for a population without folds."""
    group = getattr(trainer, "fold_group", None)
    if group is None:
        return values
    n = int(group.max()) + 1
    total = torch.zeros(n, dtype=values.dtype, device=values.device).index_add_(0, group, values)
    count = torch.zeros(n, dtype=values.dtype, device=values.device).index_add_(
        0, group, torch.ones_like(values)
    )
    return (total / count)[group]


def stop_groups(trainer) -> None:
    """A configuration's folds stop together: the live folds of a group with a stopped
    fold finish (their record is read from the group's first stop)."""
    group = getattr(trainer, "fold_group", None)
    if group is None:
        return
    dead = (~trainer.alive).to(torch.float64)
    n = int(group.max()) + 1
    any_dead = torch.zeros(n, dtype=torch.float64, device=dead.device).index_add_(0, group, dead)
    trainer.finish((any_dead > 0)[group] & trainer.alive)


def check_fold_config(cfg) -> None:
    """A one-line error for what ``train.cv`` cannot cross-validate honestly."""
    if cfg.train.cv is None:
        return
    if cfg.optimizer.name in FULL_BATCH_METHODS:
        raise CaviarError(f"train.cv: the full-batch method '{cfg.optimizer.name}' has no folds")
    if cfg.model.kind != "mlp":
        raise CaviarError(
            f"train.cv: cross-validation supports model.kind 'mlp', not '{cfg.model.kind}'"
        )
    if cfg.augment.interpolate > 0:
        raise CaviarError(
            "train.cv with augment.interpolate: partners would be drawn from held-out rows"
        )


def check_fold_data(cfg, data, where: str = "train.cv") -> None:
    """A one-line error when ``data`` cannot be cut into ``train.cv`` folds."""
    if cfg.train.cv is not None:
        check_cv(cfg.train.cv, data.train_val()[1], data.task, where=where)
