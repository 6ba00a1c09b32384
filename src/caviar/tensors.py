"""Small helpers for tensors that carry the population (member) axis."""

from __future__ import annotations

import torch


def per_member(value: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """View a ``(P,)`` hyperparameter as ``(P, 1, ..., 1)`` to broadcast against ``like``.

    Examples
    --------
    >>> import torch
    >>> lr = torch.tensor([0.1, 0.01])          # one learning rate per member
    >>> grad = torch.ones(2, 3, 4)              # (P, fan_in, fan_out)
    >>> (lr_view := per_member(lr, grad)).shape
    torch.Size([2, 1, 1])
    >>> (lr_view * grad)[:, 0, 0]
    tensor([0.1000, 0.0100])
    """
    return value.reshape((value.shape[0],) + (1,) * (like.dim() - 1))


def as_member_tensor(
    value: float | torch.Tensor | list[float],
    size: int,
    *,
    dtype: torch.dtype,
    device: torch.device | str | None = None,
    name: str = "value",
) -> torch.Tensor:
    """Broadcast a scalar, list or tensor to a ``(size,)`` tensor of one value per member."""
    t = torch.as_tensor(value, dtype=dtype, device=device)
    if t.dim() == 0:
        return t.expand(size).clone()
    t = t.reshape(-1)
    if t.shape[0] != size:
        raise ValueError(f"{name} has {t.shape[0]} values for a population of {size}")
    return t.clone()


def shared_or_member(value: torch.Tensor) -> float | torch.Tensor:
    """A ``(P,)`` hyperparameter as a python float when every member has the same value.

    Functions taking per-member knobs accept both; a shared float lets them skip work
    that a value of zero switches off (e.g. label smoothing ε = 0).
    """
    if value.numel() and bool((value == value[0]).all()):
        return float(value[0])
    return value
