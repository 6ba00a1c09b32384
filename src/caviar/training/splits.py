"""The data splits as tensors on the training device (inputs ``(n, F)``, targets)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Tensors:
    """The splits as tensors on the training device."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor


def split_tensors(
    task: str, x: np.ndarray, y: np.ndarray, dtype: torch.dtype, device: torch.device | str
) -> tuple[torch.Tensor, torch.Tensor]:
    """One split as tensors: inputs ``(n, F)``; class codes ``(n,)`` or targets ``(n, K)``."""
    xt = torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=dtype, device=device)
    if task == "classification":
        return xt, torch.as_tensor(np.asarray(y), dtype=torch.long, device=device)
    y = np.array(y, dtype=np.float64)  # a writable copy
    k = int(np.prod(y.shape[1:]))  # columns; n may be 0 (no validation rows)
    y = y.reshape(-1, 1) if y.ndim == 1 else y.reshape(y.shape[0], k)
    return xt, torch.as_tensor(y, dtype=dtype, device=device)


def to_tensors(data, dtype: torch.dtype, device: torch.device | str) -> Tensors:
    """The training and validation splits of a :class:`~caviar.data.PreparedData`."""
    x_train, y_train = split_tensors(data.task, data.X_train, data.y_train, dtype, device)
    x_val, y_val = split_tensors(data.task, data.X_val, data.y_val, dtype, device)
    return Tensors(x_train, y_train, x_val, y_val)
