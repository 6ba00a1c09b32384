"""Metrics from (weighted) confusion counts, per member, as ``sklearn.metrics`` defines them.

For predicted codes ``ŷ_p,i`` (the most probable class), true codes ``y_i`` and sample
weights ``w_i`` (1 when absent), with ``TP_c = Σ_i w_i [y_i = c][ŷ_i = c]``,
``T_c = Σ_i w_i [y_i = c]`` (support) and ``D_c = Σ_i w_i [ŷ_i = c]`` (predicted):

* accuracy = ``Σ_i w_i [ŷ_i = y_i] / Σ_i w_i``
* balanced accuracy = mean over classes with ``T_c > 0`` of the recall ``TP_c / T_c``
* F1_c = ``2 TP_c / (T_c + D_c)``; macro = mean over the classes seen in ``y`` or ``ŷ``
  (``unique_labels``), weighted = ``Σ_c T_c F1_c / Σ_c T_c``
* precision = ``TP_1 / D_1``, recall = ``TP_1 / T_1`` (binary, positive class 1); an
  empty denominator gives 0 (``zero_division`` left at its default)

Choose the metric the users of the model care about; accuracy
misleads on imbalanced classes, where recall, F1 and balanced accuracy do not.
"""

from __future__ import annotations

import torch

from caviar.errors import CaviarError


def _counts(
    proba: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``TP, T, D`` ``(P, C)`` (weighted) and the classes seen in ``y`` or ``ŷ`` ``(P, C)``."""
    n_classes = proba.shape[-1]
    pred = proba.max(dim=-1).indices  # (P, n): the first most probable class, as argmax
    target = target.expand_as(pred)
    w = torch.ones_like(proba[..., 0]) if weight is None else weight.to(proba.dtype).expand_as(pred)
    true_hot = torch.nn.functional.one_hot(target, n_classes).to(proba.dtype)
    pred_hot = torch.nn.functional.one_hot(pred, n_classes).to(proba.dtype)
    wt = true_hot * w[..., None]
    tp = (wt * pred_hot).sum(dim=1)
    seen = (true_hot + pred_hot).sum(dim=1) > 0
    return tp, wt.sum(dim=1), (pred_hot * w[..., None]).sum(dim=1), seen


def _safe_div(num: torch.Tensor, den: torch.Tensor) -> torch.Tensor:
    """``num / den`` with 0 where ``den == 0`` (sklearn's ``zero_division`` default)."""
    return torch.where(den > 0, num / den.clamp_min(torch.finfo(num.dtype).tiny), 0.0)


def accuracy(proba: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None):
    """Weighted share of correct predictions ``(P,)``."""
    pred = proba.max(dim=-1).indices
    hit = (pred == target).to(proba.dtype)
    if weight is None:
        return hit.mean(dim=-1)
    w = weight.to(proba.dtype).expand_as(hit)
    return (hit * w).sum(dim=-1) / w.sum(dim=-1)


def balanced_accuracy(proba: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None):
    """Mean recall over the classes present in ``y`` ``(P,)``."""
    tp, support, _, _ = _counts(proba, target, weight)
    present = support > 0
    recall = _safe_div(tp, support)
    return (recall * present).sum(dim=-1) / present.sum(dim=-1).clamp_min(1)


def _f1(proba, target, weight):
    tp, support, predicted, seen = _counts(proba, target, weight)
    return _safe_div(2 * tp, support + predicted), support, seen


def f1_macro(proba: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None):
    """Unweighted mean of F1 over the classes seen in ``y`` or ``ŷ`` ``(P,)``."""
    f1, _, seen = _f1(proba, target, weight)
    return (f1 * seen).sum(dim=-1) / seen.sum(dim=-1).clamp_min(1)


def f1_weighted(proba: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None):
    """Support-weighted mean of F1 ``(P,)``."""
    f1, support, _ = _f1(proba, target, weight)
    return (f1 * support).sum(dim=-1) / support.sum(dim=-1)


def _binary(proba: torch.Tensor, name: str) -> None:
    if proba.shape[-1] != 2:
        raise CaviarError(
            f"metric '{name}' is for two classes, the data has {proba.shape[-1]} "
            "(use f1_macro, f1_weighted or balanced_accuracy)"
        )


def precision(proba: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None):
    """``TP / (TP + FP)`` of class 1 ``(P,)`` (two classes)."""
    _binary(proba, "precision")
    tp, _, predicted, _ = _counts(proba, target, weight)
    return _safe_div(tp[:, 1], predicted[:, 1])


def recall(proba: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None):
    """``TP / (TP + FN)`` of class 1 ``(P,)`` (two classes)."""
    _binary(proba, "recall")
    tp, support, _, _ = _counts(proba, target, weight)
    return _safe_div(tp[:, 1], support[:, 1])
