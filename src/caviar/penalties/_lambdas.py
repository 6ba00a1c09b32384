"""Validation of the penalty weights λ (shared by the penalty files; not an algorithm).

A λ is a python number (one value for every member) or a ``(P,)`` tensor. All λ of one
call are checked together with a single device synchronisation; a λ that is zero for
every member is reported as ``None`` so its term is skipped without computing it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch

from caviar.errors import CaviarError

Lambda = float | torch.Tensor


def check_lambdas(
    lambdas: Mapping[str, Lambda], size: int, *, dtype: torch.dtype, device: torch.device
) -> dict[str, Lambda | None]:
    """Validate ``λ ≥ 0`` for each named λ; return ``None`` for an all-zero λ (skip the term).

    A python number stays a python float; a tensor becomes ``(size,)`` in ``dtype``/``device``.
    """
    out: dict[str, Lambda | None] = {}
    tensors: dict[str, torch.Tensor] = {}
    for name, value in lambdas.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            v = float(value)
            if math.isnan(v) or v < 0:
                raise CaviarError(f"penalty {name} must be >= 0, got {v:g}")
            out[name] = None if v == 0.0 else v
            continue
        t = torch.as_tensor(value).to(device=device, dtype=dtype)
        if t.dim() == 0:
            t = t.expand(size)
        elif tuple(t.shape) != (size,):
            raise CaviarError(
                f"penalty {name} must be a number or a ({size},) tensor (one value per member), "
                f"got shape {tuple(t.shape)}"
            )
        tensors[name] = t
    if tensors:
        stacked = torch.stack([t.detach() for t in tensors.values()])  # (n, P)
        # one synchronisation: per λ, "some member invalid" and "some member non-zero"
        flags = torch.stack([(~(stacked >= 0)).any(dim=1), (stacked != 0).any(dim=1)], dim=1)
        for (name, t), (invalid, nonzero) in zip(tensors.items(), flags.tolist(), strict=True):
            if invalid:
                d = t.detach()
                m = int((~(d >= 0)).nonzero()[0])
                raise CaviarError(
                    f"penalty {name} must be >= 0, got {d[m].item():g} for member {m}"
                )
            out[name] = t if nonzero else None
    return out
