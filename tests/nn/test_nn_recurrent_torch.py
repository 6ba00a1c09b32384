"""caviar's recurrent layers and cells equal torch's in float64: the same parameter names,
shapes and initial weights, state_dicts that move both ways, and the same outputs, final
states and gradients of every parameter, across the layers' options."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import caviar.nn as cnn
from caviar.errors import CaviarError
from caviar.nn.layers import convert_layers

L, B, C, H = 6, 3, 4, 5

LAYERS = [
    (nn.GRU, {}),
    (nn.GRU, {"num_layers": 2, "bidirectional": True}),
    (nn.GRU, {"batch_first": True, "bias": False}),
    (nn.LSTM, {}),
    (nn.LSTM, {"num_layers": 2, "bidirectional": True, "batch_first": True}),
    (nn.LSTM, {"proj_size": 3}),
    (nn.LSTM, {"proj_size": 2, "num_layers": 3, "bidirectional": True, "bias": False}),
    (nn.RNN, {}),
    (nn.RNN, {"nonlinearity": "relu", "num_layers": 2}),
    (nn.RNN, {"bidirectional": True, "batch_first": True, "bias": False}),
]


def ids(case):
    kind, kw = case
    return kind.__name__ + "".join(f"-{k}={v}" for k, v in kw.items())


def converted(m: nn.Module) -> nn.Module:
    """``m`` converted by convert_layers (inside a container, as in a user's module)."""
    return convert_layers(nn.ModuleDict({"m": m}))["m"]


def loss_of(output) -> torch.Tensor:
    """A weighted sum of every output and state, so each one's gradient reaches the weights."""
    flat = [output[0], *(output[1] if isinstance(output[1], tuple) else (output[1],))]
    gen = torch.Generator().manual_seed(7)
    return sum((t * torch.randn(t.shape, generator=gen, dtype=t.dtype)).sum() for t in flat)


def assert_same_run(ref: nn.Module, ours: nn.Module, x: torch.Tensor, hx=None) -> None:  # noqa: ANN001
    xr, xo = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_r = ref(xr) if hx is None else ref(xr, hx)
    out_o = ours(xo) if hx is None else ours(xo, hx)
    torch.testing.assert_close(out_o[0], out_r[0], rtol=1e-10, atol=1e-12)
    states_r = out_r[1] if isinstance(out_r[1], tuple) else (out_r[1],)
    states_o = out_o[1] if isinstance(out_o[1], tuple) else (out_o[1],)
    assert len(states_o) == len(states_r)
    for so, sr in zip(states_o, states_r, strict=True):
        torch.testing.assert_close(so, sr, rtol=1e-10, atol=1e-12)
    loss_of(out_r).backward()
    loss_of(out_o).backward()
    torch.testing.assert_close(xo.grad, xr.grad, rtol=1e-10, atol=1e-12)
    grads_r = {n: p.grad for n, p in ref.named_parameters()}
    for name, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, grads_r[name], rtol=1e-10, atol=1e-12, msg=name)


@pytest.mark.parametrize("case", LAYERS, ids=ids)
def test_converted_layer_equals_torch(case):
    kind, kw = case
    torch.manual_seed(0)
    ref = kind(C, H, **kw).double()
    ours = converted(kind(C, H, **kw).double())
    ours.load_state_dict(ref.state_dict())
    assert type(ours) is getattr(cnn, kind.__name__)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [
        (n, p.shape) for n, p in ref.named_parameters()
    ]
    x = torch.randn((B, L, C) if kw.get("batch_first") else (L, B, C), dtype=torch.float64)
    ours.flatten_parameters()  # modules written for cuDNN call it: a no-op here
    assert_same_run(ref, ours, x)


@pytest.mark.parametrize("case", LAYERS, ids=ids)
def test_initial_states_and_unbatched_inputs(case):
    kind, kw = case
    torch.manual_seed(1)
    ref = kind(C, H, **kw).double()
    ours = converted(kind(C, H, **kw).double())
    ours.load_state_dict(ref.state_dict())
    D = 2 if kw.get("bidirectional") else 1
    n = D * kw.get("num_layers", 1)
    out = kw.get("proj_size") or H
    h0 = torch.randn(n, B, out, dtype=torch.float64)
    hx = (h0, torch.randn(n, B, H, dtype=torch.float64)) if kind is nn.LSTM else h0
    x = torch.randn((B, L, C) if kw.get("batch_first") else (L, B, C), dtype=torch.float64)
    assert_same_run(ref, ours, x, hx)
    for p in (*ref.parameters(), *ours.parameters()):
        p.grad = None
    unbatched = torch.randn(L, C, dtype=torch.float64)
    hx1 = (h0[:, 0], hx[1][:, 0]) if kind is nn.LSTM else h0[:, 0]
    assert_same_run(ref, ours, unbatched, hx1)


@pytest.mark.parametrize("case", LAYERS, ids=ids)
def test_same_initial_weights_and_state_dicts_move_both_ways(case):
    kind, kw = case
    torch.manual_seed(3)
    ref = kind(C, H, **kw)
    torch.manual_seed(3)
    ours = getattr(cnn, kind.__name__)(C, H, **kw)
    assert list(ours.state_dict()) == list(ref.state_dict())
    for (n, a), b in zip(ours.state_dict().items(), ref.state_dict().values(), strict=True):
        assert torch.equal(a, b), n
    other = kind(C, H, **kw)
    other.load_state_dict(ours.state_dict())  # strict: names and shapes agree
    ours.load_state_dict(other.state_dict())


CELLS = [
    (nn.RNNCell, {}),
    (nn.RNNCell, {"nonlinearity": "relu", "bias": False}),
    (nn.GRUCell, {}),
    (nn.GRUCell, {"bias": False}),
    (nn.LSTMCell, {}),
    (nn.LSTMCell, {"bias": False}),
]


@pytest.mark.parametrize("case", CELLS, ids=ids)
@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("with_state", [True, False])
def test_converted_cell_equals_torch(case, batched, with_state):
    kind, kw = case
    torch.manual_seed(2)
    ref = kind(C, H, **kw).double()
    torch.manual_seed(2)
    ours = converted(kind(C, H, **kw).double())
    assert type(ours) is getattr(cnn, kind.__name__)
    for (n, a), (m, b) in zip(ours.named_parameters(), ref.named_parameters(), strict=True):
        assert n == m and torch.equal(a, b)
    shape = (B,) if batched else ()
    x = torch.randn(*shape, C, dtype=torch.float64)
    hx = None
    if with_state:
        h = torch.randn(*shape, H, dtype=torch.float64)
        hx = (h, torch.randn(*shape, H, dtype=torch.float64)) if kind is nn.LSTMCell else h
    xr, xo = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_r, out_o = ref(xr, hx), ours(xo, hx)
    out_r = out_r if isinstance(out_r, tuple) else (out_r,)
    out_o = out_o if isinstance(out_o, tuple) else (out_o,)
    for a, b in zip(out_o, out_r, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    w = [torch.randn(t.shape, dtype=t.dtype) for t in out_r]
    sum((t * v).sum() for t, v in zip(out_r, w, strict=True)).backward()
    sum((t * v).sum() for t, v in zip(out_o, w, strict=True)).backward()
    torch.testing.assert_close(xo.grad, xr.grad, rtol=1e-10, atol=1e-12)
    for (n, p), q in zip(ours.named_parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-10, atol=1e-12, msg=n)


def test_dropout_between_layers_in_evaluation_mode_and_its_rate():
    torch.manual_seed(4)
    ref = nn.LSTM(C, H, num_layers=3, dropout=0.4).double().eval()
    ours = converted(nn.LSTM(C, H, num_layers=3, dropout=0.4).double()).eval()
    ours.load_state_dict(ref.state_dict())
    assert [d.p for d in ours.layer_dropout] == [0.4, 0.4]
    assert_same_run(ref, ours, torch.randn(L, B, C, dtype=torch.float64))
    per_member = cnn.GRU(C, H, num_layers=2, dropout=None)
    assert [d.p for d in per_member.layer_dropout] == [None]


def test_packed_sequences_and_bad_arguments_are_refused_in_one_line():
    packed = nn.utils.rnn.pack_padded_sequence(torch.randn(L, 2, C), [L, L - 2])
    for layer in (cnn.GRU(C, H), cnn.LSTM(C, H), cnn.RNN(C, H)):
        with pytest.raises(CaviarError, match="PackedSequence: pad the sequences") as e:
            layer(packed)
        assert "\n" not in str(e.value)
    bad = [
        (lambda: cnn.GRU(C, H, dropout=1.5), "dropout must be in"),
        (lambda: cnn.LSTM(C, H, proj_size=H), "proj_size must be in"),
        (lambda: cnn.GRU(C, H, proj_size=2), "GRU has no proj_size"),
        (lambda: cnn.RNN(C, H, proj_size=2), "RNN has no proj_size"),
        (lambda: cnn.RNN(C, H, nonlinearity="gelu"), "nonlinearity must be"),
        (lambda: cnn.GRU(C, 0), "hidden_size and num_layers >= 1"),
        (lambda: cnn.GRU(C, H)(torch.randn(L, B, C + 1)), "expects inputs"),
        (lambda: cnn.GRUCell(C, H)(torch.randn(B, L, C)), "expects inputs"),
    ]
    for make, message in bad:
        with pytest.raises(CaviarError, match=message):
            make()
