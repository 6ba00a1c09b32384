"""caviar's attention and Transformer layers equal torch's in float64 (dropout 0 in
training, default dropout in evaluation): outputs, attention weights and the gradients of
every parameter and input, across torch's options and masks; state_dicts load both ways."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import caviar.nn as cnn
from caviar.errors import CaviarError
from caviar.nn.batchable import convert_torch_layers

E, H, L, S, N = 8, 2, 5, 6, 3


def close(a, b):
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def converted(ref: nn.Module) -> nn.Module:
    return convert_torch_layers(copy.deepcopy(ref))


def compare(ref: nn.Module, mine: nn.Module, inputs, call=lambda m, *a: m(*a)):
    """Outputs and gradients (parameters and inputs) of ``call`` on both modules."""
    outs = []
    for m in (ref, mine):
        xs = [x.detach().clone().requires_grad_(x.is_floating_point()) for x in inputs]
        out = call(m, *xs)
        first = out[0] if isinstance(out, tuple) else out
        (
            first.square().sum() + (first * torch.arange(first.numel()).view_as(first)).sum()
        ).backward()
        grads = {n: p.grad for n, p in m.named_parameters()}
        outs.append((out, grads, [x.grad for x in xs if x.is_floating_point()]))
    (a, ga, xa), (b, gb, xb) = outs
    if isinstance(a, tuple):
        for u, v in zip(a, b, strict=True):
            assert (u is None) == (v is None)
            if u is not None:
                close(v, u)
    else:
        close(b, a)
    assert ga.keys() == gb.keys()
    for n in ga:
        close(gb[n], ga[n])
    for u, v in zip(xa, xb, strict=True):
        close(v, u)


def rand(*shape):
    return torch.randn(*shape, dtype=torch.float64)


MHA_OPTIONS = [
    {},
    {"batch_first": True},
    {"bias": False},
    {"add_bias_kv": True},
    {"add_zero_attn": True},
    {"add_bias_kv": True, "add_zero_attn": True, "batch_first": True},
    {"kdim": 4, "vdim": 3},
]


@pytest.mark.parametrize("opts", MHA_OPTIONS)
@pytest.mark.parametrize("need_weights,average", [(True, True), (True, False), (False, True)])
@pytest.mark.parametrize("self_attention", [True, False])
def test_multihead_attention_equals_torch(opts, need_weights, average, self_attention):
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(E, H, dtype=torch.float64, **opts)
    mine = converted(ref)
    assert isinstance(mine, cnn.MultiheadAttention)
    bf = opts.get("batch_first", False)
    q = rand(N, L, E) if bf else rand(L, N, E)
    kd, vd = opts.get("kdim", E), opts.get("vdim", E)
    kw = {"need_weights": need_weights, "average_attn_weights": average}
    if self_attention and kd == E and vd == E:
        compare(ref, mine, [q], lambda m, x: m(x, x, x, **kw))
    else:
        k = rand(N, S, kd) if bf else rand(S, N, kd)
        v = rand(N, S, vd) if bf else rand(S, N, vd)
        compare(ref, mine, [q, k, v], lambda m, a, b, c: m(a, b, c, **kw))


@pytest.mark.parametrize("kind", ["bool", "float"])
@pytest.mark.parametrize("which", ["attn", "padding", "both", "attn3d"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_multihead_attention_masks_equal_torch(kind, which, need_weights):
    torch.manual_seed(1)
    ref = nn.MultiheadAttention(E, H, dtype=torch.float64, batch_first=True, add_zero_attn=True)
    mine = converted(ref)
    q, kv = rand(N, L, E), rand(N, S, E)
    attn = torch.rand(L, S) < 0.3
    if which == "attn3d":
        attn = torch.rand(N * H, L, S) < 0.3
    pad = torch.zeros(N, S, dtype=torch.bool)
    pad[0, -2:] = True
    pad[2, :1] = True
    if kind == "float":
        attn, pad = attn.double() * -3.0, pad.double() * -2.0
    masks = {
        "attn_mask": None if which == "padding" else attn,
        "key_padding_mask": pad if which in ("padding", "both") else None,
    }
    compare(ref, mine, [q, kv], lambda m, a, b: m(a, b, b, need_weights=need_weights, **masks))


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("padding", [False, True])
def test_multihead_attention_is_causal_equals_torch(need_weights, padding):
    torch.manual_seed(2)
    ref = nn.MultiheadAttention(E, H, dtype=torch.float64, batch_first=True)
    mine = converted(ref)
    x = rand(N, L, E)
    causal = nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64)
    pad = torch.zeros(N, L, dtype=torch.bool) if padding else None
    if padding:
        pad[1, -1] = True

    def call(m, a):  # noqa: ANN001, ANN202
        return m(
            a,
            a,
            a,
            attn_mask=causal,
            key_padding_mask=pad,
            is_causal=True,
            need_weights=need_weights,
        )

    compare(ref, mine, [x], call)
    with pytest.raises(CaviarError, match="is_causal=True needs the causal attn_mask"):
        mine(x, x, x, is_causal=True)


def test_multihead_attention_unbatched_equals_torch():
    torch.manual_seed(3)
    ref = nn.MultiheadAttention(E, H, dtype=torch.float64)
    mine = converted(ref)
    pad = torch.tensor([False, False, True, False, False, True])
    compare(ref, mine, [rand(L, E), rand(S, E)], lambda m, a, b: m(a, b, b, key_padding_mask=pad))


ENCODER_OPTIONS = [
    {},
    {"batch_first": True},
    {"norm_first": True, "activation": "gelu"},
    {"bias": False, "batch_first": True},
    {"activation": nn.GELU(), "norm_first": True, "batch_first": True},
]


def _encoder_masks(batch_first):
    causal = nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64)
    pad = torch.zeros(N, L, dtype=torch.bool)
    pad[0, -1] = True
    return causal, pad


@pytest.mark.parametrize("opts", ENCODER_OPTIONS)
@pytest.mark.parametrize("mode", ["train_dropout0", "eval_default_dropout"])
@pytest.mark.parametrize("masks", [False, True])
def test_encoder_layer_equals_torch(opts, mode, masks):
    torch.manual_seed(4)
    dropout = 0.0 if mode == "train_dropout0" else 0.1
    ref = nn.TransformerEncoderLayer(E, H, 16, dropout, dtype=torch.float64, **opts)
    mine = converted(ref)
    assert type(mine) is cnn.TransformerEncoderLayer
    ref.train(mode.startswith("train"))
    mine.train(mode.startswith("train"))
    bf = opts.get("batch_first", False)
    causal, pad = _encoder_masks(bf)
    kw = {"src_mask": causal, "src_key_padding_mask": pad} if masks else {}
    compare(ref, mine, [rand(N, L, E) if bf else rand(L, N, E)], lambda m, x: m(x, **kw))


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_encoder_stack_and_decoder_equal_torch(mode):
    torch.manual_seed(5)
    dropout = 0.0 if mode == "train" else 0.1
    layer = nn.TransformerEncoderLayer(E, H, 16, dropout, batch_first=True, dtype=torch.float64)
    ref = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(E, dtype=torch.float64))
    mine = converted(ref).train(mode == "train")
    ref.train(mode == "train")
    assert type(mine) is cnn.TransformerEncoder
    _, pad = _encoder_masks(True)
    compare(ref, mine, [rand(N, L, E)], lambda m, x: m(x, src_key_padding_mask=pad))
    dec = nn.TransformerDecoderLayer(E, H, 16, dropout, batch_first=True, dtype=torch.float64)
    mdec = converted(dec).train(mode == "train")
    dec.train(mode == "train")
    causal = nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64)
    compare(
        dec,
        mdec,
        [rand(N, L, E), rand(N, S, E)],
        lambda m, t, mem: m(t, mem, tgt_mask=causal, tgt_is_causal=True),
    )


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_transformer_equals_torch(batch_first, mode):
    torch.manual_seed(6)
    dropout = 0.0 if mode == "train" else 0.1
    ref = nn.Transformer(E, H, 2, 1, 16, dropout, batch_first=batch_first, dtype=torch.float64)
    ref.train(mode == "train")
    mine = converted(ref).train(mode == "train")
    src = rand(N, S, E) if batch_first else rand(S, N, E)
    tgt = rand(N, L, E) if batch_first else rand(L, N, E)
    causal = nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64)
    compare(ref, mine, [src, tgt], lambda m, a, b: m(a, b, tgt_mask=causal))


def test_state_dicts_load_both_ways():
    torch.manual_seed(7)
    ref = nn.Transformer(E, H, 1, 1, 16, batch_first=True)
    mine = cnn.TransformerEncoderLayer(E, H, 16, dropout=None, batch_first=True)
    plain = nn.TransformerEncoderLayer(E, H, 16, batch_first=True)
    assert mine.state_dict().keys() == plain.state_dict().keys()
    mine.load_state_dict(plain.state_dict())
    plain.load_state_dict(mine.state_dict())
    conv = converted(ref)
    assert {k: v.shape for k, v in conv.state_dict().items()} == {
        k: v.shape for k, v in ref.state_dict().items()
    }
    ref.load_state_dict(conv.state_dict())
    conv.load_state_dict(ref.state_dict())


def test_converted_dropouts_are_caviar_layers_at_torchs_rates():
    ref = nn.TransformerDecoderLayer(E, H, 16)  # default dropout 0.1
    mine = converted(ref)
    from caviar.nn.module import convert_layers

    convert_layers(mine)
    drops = [m for m in mine.modules() if isinstance(m, cnn.Dropout)]
    # self-attention, cross-attention, feed-forward and three residual dropouts
    assert len(drops) == 6 and all(d.p == 0.1 for d in drops)
    assert sorted(d.caviar_index for d in drops) == list(range(6))
    per_member = cnn.TransformerDecoderLayer(E, H, 16, dropout=None)
    assert all(d.p is None for d in per_member.modules() if isinstance(d, cnn.Dropout))
