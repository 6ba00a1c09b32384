"""Transformer layers as populations: torch's modules without their fused fast paths.

``torch.nn.TransformerEncoderLayer`` and ``TransformerEncoder`` switch to fused kernels
(``_transformer_encoder_layer_fwd``, nested tensors) in evaluation mode; those kernels
have no ``vmap`` batching rule and their attention dropout draws from torch's global
generator. The classes here are torch's, with the same constructors, children and
parameter names (``state_dict`` loads both ways), running torch's reference path only:

    encoder layer (post-norm):  x <- LN1(x + drop1(SA(x)));  x <- LN2(x + drop2(FF(x)))
    encoder layer (norm_first): x <- x + drop1(SA(LN1(x)));  x <- x + drop2(FF(LN2(x)))
    FF(x) = linear2(drop(activation(linear1(x))))

with ``SA`` the :class:`caviar.nn.MultiheadAttention` self-attention (its weights'
dropout the layer's rate). Every dropout is a :class:`caviar.nn.Dropout`: each member's
own rate and random stream in a population; ``dropout=None`` takes each member's
``model.dropout``. The decoder layer keeps torch's forward (it has no fast path); its
three attention/residual dropouts and feed-forward dropout become caviar layers.
:func:`convert_attention` turns torch's modules into these in place
(:func:`caviar.nn.batchable.convert_torch_layers` walks a module with it).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from caviar.nn.attention import MultiheadAttention
from caviar.nn.layers import Dropout

_RESIDUAL_DROPOUTS = ("dropout", "dropout1", "dropout2", "dropout3")


def _per_member(layer: nn.Module, rate: float | None) -> None:
    """Every dropout of ``layer`` (attention included) at ``rate`` (None: per member)."""
    for name in _RESIDUAL_DROPOUTS:
        if hasattr(layer, name):
            setattr(layer, name, Dropout(rate))
    for name in ("self_attn", "multihead_attn"):
        attn = getattr(layer, name, None)
        if attn is not None:
            MultiheadAttention.convert(attn).attention_dropout = Dropout(rate)


def _residual(
    x: torch.Tensor,
    block: Callable[[torch.Tensor], torch.Tensor],
    norm: nn.Module,
    norm_first: bool,
) -> torch.Tensor:
    """One residual sub-layer: ``x + block(norm(x))`` (norm_first), else
    ``norm(x + block(x))`` (post-norm)."""
    if norm_first:
        return x + block(norm(x))
    return norm(x + block(x))


class _PerMemberDropouts(nn.Module):
    """The constructor both layers share: torch's layer at rate ``dropout or 0``, then
    every dropout a :class:`caviar.nn.Dropout` at ``dropout`` (None: per member). First
    base of a class whose next base is torch's layer."""

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float | None = 0.1,
        **kw,
    ) -> None:  # noqa: ANN003, E501
        super().__init__(d_model, nhead, dim_feedforward, dropout or 0.0, **kw)
        _per_member(self, dropout)


class TransformerEncoderLayer(_PerMemberDropouts, nn.TransformerEncoderLayer):
    """``torch.nn.TransformerEncoderLayer`` on its reference path (formula above).

    Parameters
    ----------
    d_model, nhead, dim_feedforward, activation, layer_norm_eps, batch_first, norm_first, bias
        As for :class:`torch.nn.TransformerEncoderLayer`.
    dropout : float or None
        The rate of the attention, residual and feed-forward dropouts; ``None`` takes each
        member's ``model.dropout``.

    Examples
    --------
    >>> import torch, caviar.nn
    >>> layer = caviar.nn.TransformerEncoderLayer(8, 2, 16, dropout=None, batch_first=True)
    >>> tuple(layer(torch.zeros(3, 5, 8)).shape)
    (3, 5, 8)
    """

    def forward(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor | None = None,
        src_key_padding_mask: torch.Tensor | None = None,
        is_causal: bool = False,
    ) -> torch.Tensor:
        """The encoder layer of the module docstring (torch's non-fused path)."""

        def attend(x: torch.Tensor) -> torch.Tensor:
            return self._sa_block(x, src_mask, src_key_padding_mask, is_causal)

        x = _residual(src, attend, self.norm1, self.norm_first)
        return _residual(x, self._ff_block, self.norm2, self.norm_first)


class TransformerDecoderLayer(_PerMemberDropouts, nn.TransformerDecoderLayer):
    """``torch.nn.TransformerDecoderLayer`` whose dropouts are caviar layers.

    Parameters
    ----------
    d_model, nhead, dim_feedforward, activation, layer_norm_eps, batch_first, norm_first, bias
        As for :class:`torch.nn.TransformerDecoderLayer`.
    dropout : float or None
        The rate of every dropout of the layer; ``None`` takes each member's
        ``model.dropout``.

    Examples
    --------
    >>> import torch, caviar.nn
    >>> layer = caviar.nn.TransformerDecoderLayer(8, 2, 16, dropout=None, batch_first=True)
    >>> tuple(layer(torch.zeros(3, 4, 8), torch.zeros(3, 5, 8)).shape)
    (3, 4, 8)
    """


class TransformerEncoder(nn.TransformerEncoder):
    """``torch.nn.TransformerEncoder`` without the nested-tensor fast path: its layers in
    turn, then the optional final norm. ``is_causal`` is passed on as given (a causal
    ``mask`` gives the same result with or without the hint)."""

    def forward(
        self,
        src: torch.Tensor,
        mask: torch.Tensor | None = None,
        src_key_padding_mask: torch.Tensor | None = None,
        is_causal: bool | None = None,
    ) -> torch.Tensor:
        """The encoder stack (see the class docstring)."""
        out = src
        for layer in self.layers:
            out = layer(
                out,
                src_mask=mask,
                src_key_padding_mask=src_key_padding_mask,
                is_causal=bool(is_causal),
            )
        return out if self.norm is None else self.norm(out)


def convert_attention(child: nn.Module) -> nn.Module | None:
    """``child`` converted in place when it is one of torch's attention modules (its
    sub-modules are converted by the caller), else None."""
    if type(child) is nn.MultiheadAttention:
        return MultiheadAttention.convert(child)
    swaps = {
        nn.TransformerEncoderLayer: TransformerEncoderLayer,
        nn.TransformerEncoder: TransformerEncoder,
    }
    if type(child) in swaps:
        child.__class__ = swaps[type(child)]  # the same object, its forward replaced
        return child
    return None
