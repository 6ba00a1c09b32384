"""Hidden-layer activations (:ref:`bg-activations`) and those users of
today's libraries expect beside them (torch.nn.functional's definitions).

* sigmoid  g(z) = 1 / (1 + e^{-z})
* tanh     g(z) = (e^z - e^{-z}) / (e^z + e^{-z})
* relu     g(z) = max(0, z)
* leaky_relu g(z) = z for z >= 0, alpha * z otherwise; alpha is a per-member
  knob of shape ``(P,)`` (``y = alpha x`` for x < 0).
* elu      g(z) = z for z > 0, alpha (e^z - 1) otherwise; per-member alpha
* gelu     g(z) = z Φ(z), Φ the standard normal CDF (the exact form, not tanh's)
* silu     g(z) = z σ(z) (also called swish)
* softplus g(z) = log(1 + e^{βz}) / β, and z where βz > 20 (torch's threshold);
  per-member β

The per-member parameter (leaky slope, ELU alpha, softplus beta) travels as one
``(P,)`` tensor, the ``slope`` argument, from :func:`activation_parameter` of each
member's config.
"""

from __future__ import annotations

import torch

from caviar.errors import CaviarError
from caviar.tensors import per_member

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu", "softplus")
#: the config field holding each parametrized activation's per-member parameter
PARAMETER_FIELD = {"leaky_relu": "leaky_slope", "elu": "elu_alpha", "softplus": "softplus_beta"}
DEFAULT_PARAMETER = {"leaky_relu": 0.01, "elu": 1.0, "softplus": 1.0}
SOFTPLUS_THRESHOLD = 20.0  # torch.nn.functional.softplus's default: linear above it


def check_activation(name: str) -> str:
    """Return ``name`` if it is a known activation, else raise a one-line error."""
    if name not in ACTIVATIONS:
        raise CaviarError(f"unknown activation '{name}' (choose from: {', '.join(ACTIVATIONS)})")
    return name


def activation_parameter(model_config) -> float:
    """A member's activation parameter from its ``[model]`` config (the leaky slope for
    activations without one: unused, kept as before)."""
    field = PARAMETER_FIELD.get(model_config.activation, "leaky_slope")
    return float(getattr(model_config, field))


def _param(name: str, slope: torch.Tensor | None, z: torch.Tensor):
    return DEFAULT_PARAMETER[name] if slope is None else per_member(slope, z)


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
    if name == "elu":
        return torch.where(z > 0, z, _param(name, slope, z) * torch.expm1(z.clamp_max(0)))
    if name == "gelu":
        return torch.nn.functional.gelu(z)
    if name == "silu":
        return torch.nn.functional.silu(z)
    if name == "softplus":
        beta = _param(name, slope, z)
        bz = z * beta
        # F.softplus of βz is already linear past the threshold: no overflow, no NaN
        # gradient in the branch not taken; z itself there, as torch returns
        soft = torch.nn.functional.softplus(bz, threshold=SOFTPLUS_THRESHOLD) / beta
        return torch.where(bz > SOFTPLUS_THRESHOLD, z, soft)
    raise CaviarError(f"unknown activation '{name}' (choose from: {', '.join(ACTIVATIONS)})")
