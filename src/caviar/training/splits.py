"""The data splits as tensors on the training device (inputs ``(n, F)``, targets)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class Tensors:
    """The splits as tensors on the training device. With ``rows`` ``(P, n)`` (folds of
    cross-validation, :mod:`caviar.training.folds`) member ``p`` trains on the rows
    ``rows[p]`` of ``x_train`` and validates on its own ``x_val[p]`` ``(P, m, F)`` (folds
    of unequal sizes: padded at the end, :mod:`caviar.training.fold_sizes`)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    rows: torch.Tensor | None = None
    # folds with their own preprocessing: the N rows as each fold sees them (S, N, F)
    # and each member's fold slot (P,); batches then read ``inputs`` (:meth:`batch_inputs`)
    inputs: torch.Tensor | None = None
    slot: torch.Tensor | None = None

    @property
    def n_rows(self) -> int:
        """Training rows of one member (the most of any member with ``rows``)."""
        return self.x_train.shape[0] if self.rows is None else self.rows.shape[1]

    def member_rows(self, order: torch.Tensor, n: int | None = None) -> torch.Tensor:
        """Rows of ``x_train`` visited in ``order`` (``(n,)`` shared or ``(P, n)``, indices
        into a member's own training rows): ``order`` itself, or per member with ``rows``
        (its first ``n`` columns: the members of a size group of folds)."""
        if self.rows is None:
            return order
        rows = self.rows if n is None else self.rows[:, :n]
        if order.dim() == 1:
            return rows[:, order]
        return torch.gather(rows, 1, order)

    def batch_inputs(self, idx: torch.Tensor) -> torch.Tensor:
        """The inputs of training rows ``idx`` (``(B,)`` or ``(P, B)``): ``x_train[idx]``,
        or with per-fold ``inputs`` each member's row from its fold's inputs ``(P, B, F)``."""
        if self.inputs is None or self.slot is None:
            return self.x_train[idx]
        return self.inputs[self.slot[:, None], idx]

    def fit_targets(self, n: int | None = None) -> torch.Tensor:
        """Each member's training targets: ``y_train``, or ``(P, n, ...)`` with ``rows``."""
        return self.y_train if self.rows is None else self.y_train[self.rows[:, :n]]

    def row_weights(self, w: torch.Tensor, n: int | None = None) -> torch.Tensor:
        """Per-example training weights ``(n,)`` or, with ``rows``, ``(P, n)``."""
        return w if self.rows is None else w[self.rows[:, :n]]


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
