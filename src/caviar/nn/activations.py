"""Hidden-layer activations (seed 002 §8, seed 003 "leaky ReLU").

* sigmoid  g(z) = 1 / (1 + e^{-z})
* tanh     g(z) = (e^z - e^{-z}) / (e^z + e^{-z})
* relu     g(z) = max(0, z)
* leaky_relu g(z) = z for z >= 0, alpha * z otherwise; alpha is a per-member
  knob of shape ``(P,)`` (seed 003 draws it as "y = alpha x" for x < 0).
"""

from __future__ import annotations

import torch

from caviar.errors import CaviarError
from caviar.tensors import per_member

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")


def check_activation(name: str) -> str:
    """Return ``name`` if it is a known activation, else raise a one-line error."""
    if name not in ACTIVATIONS:
        raise CaviarError(f"unknown activation '{name}' (choose from: {', '.join(ACTIVATIONS)})")
    return name


def activate(name: str, z: torch.Tensor, slope: torch.Tensor | None = None) -> torch.Tensor:
    """Apply activation ``name`` to pre-activations ``z`` of shape ``(P, B, F)``."""
    if name == "relu":
        return torch.relu(z)
    if name == "tanh":
        return torch.tanh(z)
    if name == "sigmoid":
        return torch.sigmoid(z)
    if name == "leaky_relu":
        if slope is None:
            return torch.nn.functional.leaky_relu(z, 0.01)
        return torch.where(z >= 0, z, z * per_member(slope, z))
    raise CaviarError(f"unknown activation '{name}' (choose from: {', '.join(ACTIVATIONS)})")
