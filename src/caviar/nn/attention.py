"""Multi-head attention as ``torch.func.vmap`` batches it, with per-member dropout.

``torch.nn.MultiheadAttention`` runs fused kernels (``scaled_dot_product_attention``,
``_native_multi_head_attention``) whose dropout draws from torch's global generator, so a
member could not be reproduced alone, and some of which have no batching rule. This layer
has the same constructor, parameter names and shapes (a ``state_dict`` loads both ways)
and computes, for queries ``Q (L, E)``, keys ``K (S, E_k)`` and values ``V (S, E_v)`` of
one example, with ``H`` heads of width ``d = E / H``:

    q, k, v = Q W_qᵀ + b_q,  K W_kᵀ + b_k,  V W_vᵀ + b_v       (split into H heads)
    A_h = softmax(q_h k_hᵀ / √d + M)                          (M: additive mask, -inf = off)
    out = concat_h(dropout(A_h) v_h) W_oᵀ + b_o

with plain linear maps, products and a softmax (each batched by ``vmap``). ``M`` merges
``attn_mask`` (``(L, S)`` or ``(N·H, L, S)``; boolean ``True`` = not allowed, or float
added) and ``key_padding_mask`` (``(N, S)``, ``True`` = padding); ``is_causal`` replaces
them by the causal mask where torch does (it is torch's hint that ``attn_mask`` is
causal). Attention dropout is a :class:`caviar.nn.Dropout` child (``attention_dropout``):
each member's own rate and random stream in a population, ``torch.nn.functional.dropout``
outside one. ``add_bias_kv``, ``add_zero_attn``, ``kdim``/``vdim``, ``bias`` and
``batch_first`` behave as in torch; the returned weights are ``dropout(A)`` averaged over
the heads (``average_attn_weights``) as torch returns them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from caviar.errors import CaviarError
from caviar.nn.layers import Dropout


def additive_mask(mask: torch.Tensor | None, dtype: torch.dtype, name: str) -> torch.Tensor | None:
    """A mask as the float added to the attention scores: a boolean ``True`` (not allowed)
    becomes ``-inf``, ``False`` 0; a float mask is used as given."""
    if mask is None:
        return None
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(
            mask, float("-inf")
        )
    if not torch.is_floating_point(mask):
        raise CaviarError(f"{name} must be a bool or float tensor, got {mask.dtype}")
    return mask.to(dtype)


def causal_mask(length: int, source: int, like: torch.Tensor) -> torch.Tensor:
    """``(L, S)`` additive mask allowing position ``j <= i`` only (``-inf`` above the
    diagonal), the mask ``scaled_dot_product_attention(is_causal=True)`` applies."""
    allowed = torch.ones(length, source, dtype=torch.bool, device=like.device).tril()
    mask = additive_mask(~allowed, like.dtype, "causal mask")
    assert mask is not None  # a mask in, a mask out
    return mask


class MultiheadAttention(nn.MultiheadAttention):
    """``torch.nn.MultiheadAttention`` written in batchable operations (formula above).

    Parameters
    ----------
    embed_dim, num_heads, bias, add_bias_kv, add_zero_attn, kdim, vdim, batch_first
        As for :class:`torch.nn.MultiheadAttention`.
    dropout : float or None
        Attention-weight dropout rate; ``None`` takes each member's ``model.dropout``.

    Examples
    --------
    >>> import torch, caviar.nn
    >>> mha = caviar.nn.MultiheadAttention(8, 2, dropout=None, batch_first=True)
    >>> out, weights = mha(torch.zeros(3, 5, 8), torch.zeros(3, 5, 8), torch.zeros(3, 5, 8))
    >>> tuple(out.shape), tuple(weights.shape)
    ((3, 5, 8), (3, 5, 5))
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float | None = 0.0, **kw) -> None:  # noqa: ANN003
        super().__init__(embed_dim, num_heads, dropout=dropout or 0.0, **kw)
        self.attention_dropout = Dropout(dropout)

    @classmethod
    def convert(cls, layer: nn.MultiheadAttention) -> MultiheadAttention:
        """``layer`` itself (in place, its parameters kept) as this class."""
        layer.__class__ = cls
        layer.attention_dropout = Dropout(layer.dropout)
        return layer  # type: ignore[return-value]

    def forward(  # noqa: PLR0913 - torch's signature
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        key_padding_mask: torch.Tensor | None = None,
        need_weights: bool = True,
        attn_mask: torch.Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(output, weights)`` as :meth:`torch.nn.MultiheadAttention.forward` returns them."""
        batched = query.dim() == 3
        same_kv, self_attention = key is value, query is key and key is value
        if not batched:  # (L, E): one example
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif not self.batch_first:  # (L, N, E) -> (N, L, E)
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        q, k, v = self._project(query, key, value, self_attention, same_kv)
        n, length, dtype = q.shape[0], q.shape[1], q.dtype
        if is_causal and attn_mask is None:
            raise CaviarError("MultiheadAttention: is_causal=True needs the causal attn_mask")
        mask = additive_mask(attn_mask, dtype, "attn_mask")
        pad = additive_mask(key_padding_mask, dtype, "key_padding_mask")
        if self.bias_k is not None and self.bias_v is not None:  # set together (add_bias_kv)
            k = torch.cat([k, self.bias_k.expand(n, 1, -1)], dim=1)
            v = torch.cat([v, self.bias_v.expand(n, 1, -1)], dim=1)
            mask, pad = _pad_column(mask), _pad_column(pad)
        k, v = self._heads(k), self._heads(v)
        if self.add_zero_attn:
            zeros = torch.zeros_like(k[:, :, :1])
            k, v = torch.cat([k, zeros], dim=2), torch.cat([v, zeros], dim=2)
            mask, pad = _pad_column(mask), _pad_column(pad)
        if is_causal and pad is None and not need_weights:  # torch's causal kernel
            mask = causal_mask(length, k.shape[2], q)
        mask = self._merge(mask, pad, n, length, k.shape[2])
        scores = torch.matmul(self._heads(q) * self.head_dim**-0.5, k.transpose(-2, -1))
        weights = self.attention_dropout(
            torch.softmax(scores if mask is None else scores + mask, -1)
        )
        out = torch.matmul(weights, v).transpose(1, 2).reshape(n, length, self.embed_dim)
        out = F.linear(out, self.out_proj.weight, self.out_proj.bias)
        if not batched:
            out, weights = out.squeeze(0), weights.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        return out, weights.mean(dim=-3) if average_attn_weights else weights

    def _project(self, query, key, value, self_attention: bool, same_kv: bool):  # noqa: ANN001, ANN202
        """``Q W_qᵀ + b_q`` etc.: one product for self-attention with packed weights."""
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else b.chunk(3)
        if not self._qkv_same_embed_dim:
            return (
                F.linear(query, self.q_proj_weight, bq),
                F.linear(key, self.k_proj_weight, bk),
                F.linear(value, self.v_proj_weight, bv),
            )
        if self_attention:
            return F.linear(query, self.in_proj_weight, b).chunk(3, dim=-1)
        wq, wk, wv = self.in_proj_weight.chunk(3)
        q = F.linear(query, wq, bq)
        if same_kv:
            k, v = F.linear(
                key, torch.cat([wk, wv]), None if b is None else torch.cat([bk, bv])
            ).chunk(2, dim=-1)
            return q, k, v
        return q, F.linear(key, wk, bk), F.linear(value, wv, bv)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """``(N, T, E) -> (N, H, T, d)``."""
        return x.unflatten(-1, (self.num_heads, self.head_dim)).transpose(1, 2)

    def _merge(self, mask, pad, n: int, length: int, source: int):  # noqa: ANN001, ANN202
        """``attn_mask`` and ``key_padding_mask`` as one additive ``(N|1, H|1, L, S)``."""
        if mask is not None:
            if mask.dim() == 3:  # (N·H, L, S)
                mask = mask.view(n, self.num_heads, length, source)
            elif mask.dim() != 2:
                raise CaviarError(f"attn_mask must be 2-d or 3-d, got {mask.dim()}-d")
        if pad is not None:
            pad = pad.view(n, 1, 1, source)
            mask = pad if mask is None else mask + pad
        return mask


def _pad_column(mask: torch.Tensor | None) -> torch.Tensor | None:
    """One more allowed key (the bias or zero key) in a mask's last axis."""
    return None if mask is None else F.pad(mask, (0, 1))
