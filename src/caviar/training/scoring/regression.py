"""Regression metrics per member (``sklearn.metrics``, ``multioutput="uniform_average"``).

For outputs ``ŷ`` ``(P, n, K)``, targets ``y`` ``(n, K)`` and weights ``w_i`` (1 when
absent), each output column ``k`` is scored and the ``K`` scores averaged:

* R²_k = ``1 − Σ w (y − ŷ)² / Σ w (y − ȳ_w)²`` (a constant column: 1 when predicted
  exactly, else 0, as sklearn's ``force_finite``);
* RMSE_k = ``sqrt(Σ w (y − ŷ)² / Σ w)``; MAE_k = ``Σ w |y − ŷ| / Σ w``.
"""

from __future__ import annotations

import torch


def _weights(pred: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """Weights ``(1, n, 1)`` or ``(P, n, 1)`` for broadcasting against ``(P, n, K)``."""
    if weight is None:
        return torch.ones_like(pred[:1, :, :1])
    w = weight.to(pred.dtype)
    return w.reshape(1, -1, 1) if w.dim() == 1 else w[..., None]


def _target(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return target.reshape(pred.shape[-2:]) if target.dim() < 3 else target


def r2(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """Mean over outputs of the coefficient of determination ``(P,)``."""
    y, w = _target(pred, target), _weights(pred, weight)
    sse = (w * (pred - y).pow(2)).sum(dim=-2)
    mean = (w * y).sum(dim=-2, keepdim=True) / w.sum(dim=-2, keepdim=True)
    sst = (w * (y - mean).pow(2)).sum(dim=-2).expand_as(sse)
    tiny = torch.finfo(pred.dtype).tiny
    per_output = torch.where(
        sst > 0, 1.0 - sse / sst.clamp_min(tiny), torch.where(sse == 0, 1.0, 0.0)
    )
    return per_output.mean(dim=-1)


def rmse(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """Mean over outputs of the root mean squared error ``(P,)``."""
    y, w = _target(pred, target), _weights(pred, weight)
    mse = (w * (pred - y).pow(2)).sum(dim=-2) / w.sum(dim=-2)
    return mse.sqrt().mean(dim=-1)


def mae(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """Mean over outputs of the mean absolute error ``(P,)``."""
    y, w = _target(pred, target), _weights(pred, weight)
    return ((w * (pred - y).abs()).sum(dim=-2) / w.sum(dim=-2)).mean(dim=-1)
