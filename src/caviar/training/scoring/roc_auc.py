"""Area under the ROC curve per member, binary and one-vs-rest (``sklearn.metrics.roc_auc_score``).

The trapezoidal ROC area equals the weighted Mann-Whitney statistic: over all pairs of a
positive ``i`` and a negative ``j``,

    AUC = Σ_i Σ_j w_i w_j ([s_i > s_j] + ½ [s_i = s_j]) / (W_pos W_neg)

computed for every row at once by sorting the scores ``s`` and a cumulative sum of the
negatives' weights (``searchsorted`` finds the negatives strictly below and tied).
Binary: ``s`` = probability of class 1. More classes: one-vs-rest on each class's
probability, macro-averaged over the classes with positives and negatives in ``y``
(sklearn's ``multi_class="ovr"``). A row without both kinds, or with a non-finite
score (a diverged member), is NaN.
"""

from __future__ import annotations

import torch


def binary_auc(scores: torch.Tensor, positive: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """AUC of each row: ``scores, positive, weight`` ``(R, n)`` -> ``(R,)``."""
    s_sorted, order = scores.sort(dim=1)
    w_neg = (weight * ~positive).to(scores.dtype)
    cum = torch.nn.functional.pad(w_neg.gather(1, order).cumsum(dim=1), (1, 0))
    below = cum.gather(1, torch.searchsorted(s_sorted, scores, right=False))
    tied = cum.gather(1, torch.searchsorted(s_sorted, scores, right=True)) - below
    w_pos = (weight * positive).to(scores.dtype)
    u = (w_pos * (below + 0.5 * tied)).sum(dim=1)
    pairs = w_pos.sum(dim=1) * w_neg.sum(dim=1)
    auc = u / pairs.clamp_min(torch.finfo(scores.dtype).tiny)
    valid = (pairs > 0) & torch.isfinite(scores).all(dim=1)
    return torch.where(valid, auc, torch.nan)


def roc_auc(proba: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None):
    """``proba`` ``(P, n, C)``, ``target`` ``(n,)`` or ``(P, n)`` -> ``(P,)``."""
    p, n, n_classes = proba.shape
    target = target.expand(p, n)
    w = torch.ones(n, dtype=proba.dtype, device=proba.device) if weight is None else weight
    w = w.to(proba.dtype).expand(p, n)
    if n_classes == 2:
        return binary_auc(proba[..., 1].contiguous(), target == 1, w)
    scores = proba.permute(0, 2, 1).reshape(p * n_classes, n).contiguous()
    classes = torch.arange(n_classes, device=proba.device)
    positive = (target[:, None, :] == classes[None, :, None]).reshape(p * n_classes, n)
    rows = w[:, None, :].expand(p, n_classes, n).reshape(p * n_classes, n)
    return binary_auc(scores, positive, rows).reshape(p, n_classes).nanmean(dim=1)
