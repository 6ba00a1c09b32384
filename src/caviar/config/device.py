"""``train.device``: a torch device that exists on this machine, checked when the
config is read (not when the first tensor moves, deep inside training)."""

from __future__ import annotations


def check_device(name: str) -> str:
    """``name`` if it is ``cpu``, an available ``cuda[:i]`` or ``mps``; else ValueError
    with a one-line reason (unknown type, or a device this machine lacks)."""
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        raise ValueError(
            f"unknown device {name!r} (use 'cpu', 'cuda', 'cuda:<index>' or 'mps')"
        ) from None
    if device.type == "cpu":
        return name
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"device {name!r} requested but CUDA is not available on this machine")
        if device.index is not None and device.index >= count:
            raise ValueError(f"device {name!r}: this machine has {count} CUDA device(s)")
        return name
    if device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"device {name!r}: MPS is not available on this machine")
        return name
    raise ValueError(f"device {name!r}: caviar trains on 'cpu', 'cuda' or 'mps'")
