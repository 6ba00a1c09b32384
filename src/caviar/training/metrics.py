"""Per-member scores, higher is better: accuracy for classification, R^2 for regression.

* accuracy_p = mean_i [argmax_k proba_p,i,k == y_i]
* R^2_p = 1 - sum_i (yhat_p,i - y_i)^2 / sum_i (y_i - mean y)^2
"""

from __future__ import annotations

import torch


def accuracy(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Share of correct predictions per member, ``(P,)`` in float64.

    ``predicted``: class codes ``(P, B)`` (:func:`predicted_class`); ``target``: ``(B,)``
    or ``(P, B)`` class codes.
    """
    return (predicted == target).double().mean(dim=-1)


def predicted_class(outputs: torch.Tensor) -> torch.Tensor:
    """Class codes ``(P, B)`` from raw outputs ``(P, B, K)`` without computing probabilities.

    Softmax and per-output sigmoids are monotone, so the most probable class is the
    largest output; a single sigmoid output means class 1 when the logit is positive.
    """
    if outputs.shape[-1] == 1:
        return (outputs[..., 0] > 0).long()
    # max's indices: the same first-of-ties (and NaN) rule as argmax, and faster on a short
    # class axis (measured at (32, 64, 10): 13 µs against 37 µs)
    return outputs.max(dim=-1).indices


def r2_score(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``pred`` (P, B, K), ``target`` (B, K) -> (P,) coefficient of determination."""
    target = target.reshape(pred.shape[-2:]) if target.dim() < 3 else target
    sse = (pred - target).pow(2).sum(dim=(-2, -1))
    centered = target - target.mean(dim=-2, keepdim=True)
    sst = centered.pow(2).sum(dim=(-2, -1)).clamp_min(torch.finfo(pred.dtype).tiny)
    return 1.0 - sse / sst
