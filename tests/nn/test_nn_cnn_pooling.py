"""The built-in CNN's cheaper pooling equals the old path in float64: max pooling of 2 as
the max of two strided views (first of equal values wins, as max_pool*d picks), placed
before the non-decreasing activation (max(f(a), f(b)) = f(max(a, b))), with an in-place
ReLU: the same outputs and gradients as conv -> activation -> nn.MaxPool*d(2), and the
same parameter names (saved models load unchanged)."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from caviar.nn.cnn import MaxPool2, build_cnn
from caviar.nn.factory import build_member
from caviar.nn.layers import LeakyReLU


def old_path(net: nn.Sequential, two_d: bool) -> nn.Sequential:
    """``net`` rebuilt as before: activation, then torch's max pool (the same weights)."""
    layers, pending = [], None
    torch_act = {nn.ReLU: nn.ReLU}
    for m in net:
        if isinstance(m, MaxPool2):
            pending = (nn.MaxPool2d if two_d else nn.MaxPool1d)(2)
            continue
        layers.append(torch_act.get(type(m), lambda m=m: copy.deepcopy(m))())
        if pending is not None:
            layers.append(pending)
            pending = None
    return nn.Sequential(*layers).double()


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("shape", [[2, 19], [1, 9, 10]])
@pytest.mark.parametrize("batch_norm", [False, True])
def test_new_pooling_equals_activation_then_max_pool(activation, shape, batch_norm):
    cfg = {
        "input_shape": shape,
        "n_outputs": 3,
        "channels": [4, 5],
        "kernel_size": 3,
        "stride": 1,
        "pool": "max",
        "hidden": [6],
        "activation": activation,
        "batch_norm": batch_norm,
        "init": "he_uniform",
    }
    new = build_member(build_cnn, cfg, 3).double()
    assert any(isinstance(m, MaxPool2) for m in new)
    old = old_path(new, len(shape) == 3)
    assert not any(isinstance(m, MaxPool2) for m in old)
    assert new.state_dict().keys() == old.state_dict().keys()
    old.load_state_dict(new.state_dict())
    x = torch.randn(7, *shape, dtype=torch.float64)
    x[0] = 0.0  # exact ties in the pooling windows (constant pre-activations)
    for m in (old, new):
        m.train()
        m(x).pow(2).sum().backward()
    torch.testing.assert_close(new(x), old(x), rtol=1e-12, atol=1e-14)
    for (name, a), (_, b) in zip(old.named_parameters(), new.named_parameters(), strict=True):
        torch.testing.assert_close(b.grad, a.grad, rtol=1e-10, atol=1e-13, msg=name)


@pytest.mark.parametrize("dims,shape", [(1, (3, 2, 9)), (2, (3, 2, 7, 6)), (2, (2, 1, 4, 5))])
def test_max_pool2_equals_torch_max_pool_with_ties(dims, shape):
    x = torch.randint(0, 3, shape).double().requires_grad_(True)  # many ties
    ref = (nn.MaxPool2d if dims == 2 else nn.MaxPool1d)(2)
    y = x.detach().clone().requires_grad_(True)
    w = torch.randn_like(ref(x))
    (ref(x) * w).sum().backward()
    (MaxPool2(dims)(y) * w).sum().backward()
    torch.testing.assert_close(MaxPool2(dims)(y), ref(x))
    torch.testing.assert_close(y.grad, x.grad)  # the first of equal values gets the gradient


def test_leaky_relu_member_slope_is_monotone():
    """Pooling first needs a non-decreasing activation: model.leaky_slope is >= 0."""
    from caviar.config.schema import ModelConfig

    assert ModelConfig.model_fields["leaky_slope"].metadata[0].ge == 0
    assert isinstance(LeakyReLU(None), nn.Module)
