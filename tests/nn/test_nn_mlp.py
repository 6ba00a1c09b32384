"""The population MLP against per-member torch.nn.Linear stacks, and its layout."""

import math

import numpy as np
import pytest
import torch

from caviar.nn import PopulationMLP, output_bias
from caviar.nn.init import init_weight

ACTS = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}


def reference_forward(model: PopulationMLP, member: int, x: torch.Tensor, act) -> torch.Tensor:
    """Member ``member`` as an ordinary stack of torch.nn.functional.linear calls."""
    h = x
    ws, bs = model.weights(), model.biases()
    for i, (w, b) in enumerate(zip(ws, bs, strict=True)):
        h = torch.nn.functional.linear(h, w[member].T, b[member, 0])
        if i < len(ws) - 1:
            h = act(h)
    return h


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_forward_matches_per_member_linear(activation):
    model = PopulationMLP([5, 7, 6, 3], 4, activation=activation, dtype=torch.float64)
    model.initialize([10, 11, 12, 13], init="glorot_normal")
    x = torch.randn(9, 5, dtype=torch.float64)
    out = model(x)
    assert out.shape == (4, 9, 3)
    for p in range(4):
        ref = reference_forward(model, p, x, ACTS[activation])
        torch.testing.assert_close(out[p], ref, rtol=1e-12, atol=1e-12)


def test_leaky_relu_slope_is_per_member():
    model = PopulationMLP([3, 4, 2], 2, activation="leaky_relu", dtype=torch.float64)
    model.initialize([0, 0])
    x = torch.randn(5, 3, dtype=torch.float64)
    slopes = torch.tensor([0.0, 0.3], dtype=torch.float64)
    out = model(x, slope=slopes)
    for p, a in enumerate([0.0, 0.3]):
        ref = reference_forward(model, p, x, lambda z, a=a: torch.nn.functional.leaky_relu(z, a))
        torch.testing.assert_close(out[p], ref, rtol=1e-12, atol=1e-12)


def test_per_member_inputs():
    model = PopulationMLP([3, 4, 2], 3, dtype=torch.float64)
    model.initialize([1, 2, 3])
    x = torch.randn(3, 5, 3, dtype=torch.float64)
    out = model(x)
    for p in range(3):
        torch.testing.assert_close(out[p], model(x[p])[p])


def test_gradcheck_through_layers():
    model = PopulationMLP([3, 4, 2], 2, activation="tanh", dtype=torch.float64)
    model.initialize([5, 6], init="lecun_normal")
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    flat = model.flat.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda f, x: model(x, flat=f), (flat, x))


def test_member_gradients_are_independent():
    model = PopulationMLP([3, 5, 2], 3, dtype=torch.float64)
    model.initialize([0, 1, 2])
    x = torch.randn(6, 3, dtype=torch.float64)
    model(x).pow(2).sum(dim=(1, 2))[1].backward()
    grad = model.flat.grad
    assert grad[0].abs().sum() == 0 and grad[2].abs().sum() == 0
    assert grad[1].abs().sum() > 0


def test_initialization_depends_only_on_member_seed():
    a = PopulationMLP([8, 16, 3], 3)
    a.initialize([7, 8, 9])
    b = PopulationMLP([8, 16, 3], 1)
    b.initialize([8])
    torch.testing.assert_close(a.flat[1], b.flat[0], rtol=0, atol=0)


@pytest.mark.parametrize(
    "name,variance",
    [
        ("glorot_uniform", 2 / (200 + 300)),
        ("glorot_normal", 2 / (200 + 300)),
        ("he_uniform", 2 / 200),
        ("he_normal", 2 / 200),
        ("lecun_uniform", 1 / 200),
        ("lecun_normal", 1 / 200),
        ("normal", 0.05**2),
        ("uniform", 0.05**2 / 3),
    ],
)
def test_initializer_variance(name, variance):
    w = init_weight(
        name, 200, 300, scale=0.05, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    assert abs(w.mean().item()) < 0.05 * math.sqrt(variance) * 10
    assert w.var().item() == pytest.approx(variance, rel=0.03)


def test_output_initialization_predicts_the_baseline():
    y = np.array([0, 0, 0, 1, 2, 2])
    bias = output_bias(y, task="classification", n_outputs=3)
    np.testing.assert_allclose(np.exp(bias) / np.exp(bias).sum(), [0.5, 1 / 6, 1 / 3])
    model = PopulationMLP([2, 4, 3], 2, dtype=torch.float64)
    model.initialize([0, 1], output_bias=bias)
    out = model(torch.randn(5, 2, dtype=torch.float64))
    probs = torch.softmax(out, dim=-1)
    torch.testing.assert_close(
        probs, torch.tensor([0.5, 1 / 6, 1 / 3], dtype=torch.float64).expand_as(probs)
    )
    binary = output_bias(np.array([0, 1, 1, 1]), task="classification", n_outputs=1)
    assert binary[0] == pytest.approx(math.log(0.75 / 0.25))
    reg = output_bias(np.array([1.0, 2.0, 6.0]), task="regression", n_outputs=1)
    assert reg[0] == pytest.approx(3.0)


def test_member_tensors_round_trip():
    model = PopulationMLP([3, 4, 2], 2)
    model.initialize([1, 2])
    other = PopulationMLP([3, 4, 2], 1)
    other.load_member_tensors(model.member_tensors(1))
    torch.testing.assert_close(other.flat[0], model.flat[1])


def test_member_tensors_are_copies_not_views():
    model = PopulationMLP([3, 4, 2], 2, batch_norm=True)
    model.initialize([1, 2])
    tensors = model.member_tensors(1)
    before = {k: v.clone() for k, v in tensors.items()}
    with torch.no_grad():
        model.flat.add_(1.0)  # training on changes the population...
        model.stats.add_(1.0)
    for k, v in tensors.items():  # ...but not what was handed out
        assert v.is_contiguous() and torch.equal(v, before[k]), k
