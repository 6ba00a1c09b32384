"""torch layers whose kernels ``vmap`` cannot batch, rewritten in operations it can.

``torch.nn.Bilinear`` (``aten::_trilinear``) has no batching rule: ``vmap`` would run it
member by member with a "performance drop" warning; ``torch.nn.PReLU``'s kernel resizes
its output under ``vmap`` (a warning at every call). The classes here keep torch's
constructor, parameter names and shapes and compute the same function:

    Bilinear:  y_o = Σ_ij x1_i W_oij x2_j + b_o            (one einsum)
    PReLU:     y = x if x >= 0 else a_c x                  (a per channel, axis 1)

:func:`convert_torch_layers` turns torch's layers (these and the attention and
Transformer layers of :mod:`caviar.nn.transformer`) into batchable ones, in place.
"""

from __future__ import annotations

import torch
from torch import nn

from caviar.nn.transformer import convert_attention


class Bilinear(nn.Bilinear):
    """``torch.nn.Bilinear`` as one einsum: ``y_o = Σ_ij x1_i W_oij x2_j + b_o``."""

    def forward(self, input1: torch.Tensor, input2: torch.Tensor) -> torch.Tensor:
        """The bilinear map of the class docstring."""
        out = torch.einsum("...i,oij,...j->...o", input1, self.weight, input2)
        return out if self.bias is None else out + self.bias


class PReLU(nn.PReLU):
    """``torch.nn.PReLU`` as a select: ``x`` where ``x >= 0``, else ``a x`` (``a`` per
    channel, the input's axis 1, or one slope for all)."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002 - torch's name
        """The activation of the class docstring."""
        a: torch.Tensor = self.weight
        if a.numel() > 1 and input.dim() >= 2:
            a = a.view(-1, *[1] * (input.dim() - 2))
        return torch.where(input >= 0, input, a * input)


_SWAPS = {nn.Bilinear: Bilinear, nn.PReLU: PReLU}


def convert_torch_layers(module: nn.Module) -> nn.Module:
    """Convert (in place) every layer inside ``module`` (and ``module`` itself) that has a
    batchable rewrite: ``Bilinear``, ``PReLU``, ``MultiheadAttention``,
    ``TransformerEncoderLayer`` and ``TransformerEncoder`` (same object, same parameters,
    its forward replaced; ``Transformer``, its decoder and decoder layers keep torch's
    forward, their attention and dropout layers converted). Returns ``module``."""
    if type(module) in _SWAPS:
        module.__class__ = _SWAPS[type(module)]
    else:
        convert_attention(module)
    for child in module.children():
        convert_torch_layers(child)
    return module
