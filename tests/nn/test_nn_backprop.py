"""The hand-written backpropagation (caviar.nn.backprop) against autograd, in float64.

Autograd through ``PopulationMLP.__call__`` plus ``caviar.penalties.penalties`` is the
reference: same outputs, and the same gradient in ``flat.grad`` for every activation,
shared or per-member inputs, dropout, every penalty and several losses.
"""

from __future__ import annotations

import pytest
import torch

from caviar.losses import get_loss
from caviar.nn.backprop import NARROW, backward, forward_train, linear
from caviar.nn.dropout import DropoutPass
from caviar.nn.mlp import PopulationMLP
from caviar.penalties import penalties
from caviar.training.gradient_step import PENALTY_NAMES

P, B = 4, 9
DT = torch.float64


def lambdas(on: bool) -> dict[str, torch.Tensor | None]:
    g = torch.Generator().manual_seed(5)
    return {k: (0.1 * torch.rand(P, generator=g, dtype=DT) if on else None) for k in PENALTY_NAMES}


def reference(model, x, y, loss, slope, lam, drop):
    model.zero_grad()
    out, acts = model(x, slope=slope, return_activities=True, dropout=drop)
    kw = {k: (v if v is not None else 0.0) for k, v in lam.items()}
    total = get_loss(loss).fn(out, y) + penalties(model.weights(), model.biases(), acts, **kw)
    total.sum().backward()
    return out.detach(), model.flat.grad.clone()


def by_hand(model, x, y, loss, slope, lam, drop):
    out, cache = forward_train(model, x, slope=slope, dropout=drop)
    out.requires_grad_(True)
    get_loss(loss).fn(out, y).sum().backward()
    model.flat.grad.fill_(float("nan"))  # backward must overwrite every entry
    backward(model, cache, out.grad, slope=slope, lambdas=lam)
    return out.detach(), model.flat.grad.clone()


@pytest.mark.parametrize(
    "activation",
    ["relu", "tanh", "sigmoid", "leaky_relu", "elu", "gelu", "silu", "softplus"],
)
@pytest.mark.parametrize("shared_input", [True, False], ids=["shared_x", "member_x"])
@pytest.mark.parametrize("dropout", [False, True], ids=["no_dropout", "dropout"])
@pytest.mark.parametrize("n_out", [3, NARROW + 2], ids=["narrow_out", "wide_out"])
def test_gradients_equal_autograd(activation, shared_input, dropout, n_out) -> None:
    torch.manual_seed(0)
    model = PopulationMLP([6, 20, 11, n_out], P, activation=activation, dtype=DT)
    model.initialize(list(range(P)))
    x = torch.randn(B, 6, dtype=DT) if shared_input else torch.randn(P, B, 6, dtype=DT)
    y = torch.randint(0, n_out, (B,))
    slope = torch.tensor([0.0, 0.01, 0.2, 0.5], dtype=DT)
    if activation in ("elu", "softplus"):  # ELU alpha, softplus beta: > 0
        slope = torch.tensor([0.3, 1.0, 2.0, 5.0], dtype=DT)
    drop = None
    if dropout:
        rates = torch.tensor([0.0, 0.1, 0.3, 0.5], dtype=DT)
        drop = DropoutPass(torch.arange(P), 7, rate=rates, input_rate=rates.flip(0))
    lam = lambdas(True)
    out_ref, grad_ref = reference(model, x, y, "cross_entropy", slope, lam, drop)
    out, grad = by_hand(model, x, y, "cross_entropy", slope, lam, drop)
    torch.testing.assert_close(out, out_ref, rtol=1e-12, atol=1e-13)
    torch.testing.assert_close(grad, grad_ref, rtol=1e-11, atol=1e-13)
    assert grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("loss", "n_out"),
    [
        ("l2", 1),
        ("huber", 2),
        ("log_cosh", 1),
        ("hinge", 4),
        ("squared_hinge", 3),
        ("kl_divergence", 3),
        ("binary_cross_entropy", 1),
    ],
)
def test_other_losses_and_no_penalty(loss, n_out) -> None:
    torch.manual_seed(1)
    model = PopulationMLP([5, 8, n_out], P, activation="tanh", dtype=DT)
    model.initialize(list(range(10, 10 + P)))
    x = torch.randn(B, 5, dtype=DT)
    if get_loss(loss).task == "regression":
        y = torch.randn(B, n_out, dtype=DT)
    else:
        y = torch.randint(0, max(2, n_out), (B,))
    lam = lambdas(False)
    _, grad_ref = reference(model, x, y, loss, None, lam, None)
    _, grad = by_hand(model, x, y, loss, None, lam, None)
    torch.testing.assert_close(grad, grad_ref, rtol=1e-11, atol=1e-13)


def test_batch_norm_is_refused() -> None:
    model = PopulationMLP([3, 4, 2], 2, batch_norm=True)
    with pytest.raises(ValueError, match="batch norm"):
        forward_train(model, torch.zeros(5, 3), slope=None)


@pytest.mark.parametrize("n_out", [1, NARROW - 1, NARROW, 40])
def test_linear_narrow_and_wide_forms_agree(n_out) -> None:
    g = torch.Generator().manual_seed(2)
    h = torch.randn(3, 7, 12, generator=g, dtype=DT)
    w = torch.randn(3, 12, n_out, generator=g, dtype=DT)
    b = torch.randn(3, 1, n_out, generator=g, dtype=DT)
    torch.testing.assert_close(linear(h, w, b), h @ w + b, rtol=1e-13, atol=1e-13)
    torch.testing.assert_close(linear(h, w, None), h @ w, rtol=1e-13, atol=1e-13)
    assert linear(h, w, b).is_contiguous()


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_default_slope_and_exact_zero_preactivations(activation) -> None:
    """Without per-member slopes (``F.leaky_relu``'s 0.01) and with pre-activations that
    are exactly 0, the derivative follows autograd's convention."""
    model = PopulationMLP([3, 4, 2], P, activation=activation, dtype=DT)
    model.initialize(list(range(P)))
    with torch.no_grad():
        model.biases(model.flat)[0].zero_()
    x = torch.zeros(B, 3, dtype=DT)  # every hidden pre-activation is 0
    x[: B // 2] = torch.randn(B // 2, 3, dtype=DT, generator=torch.Generator().manual_seed(4))
    y = torch.randint(0, 2, (B,))
    lam = lambdas(False)
    _, grad_ref = reference(model, x, y, "cross_entropy", None, lam, None)
    _, grad = by_hand(model, x, y, "cross_entropy", None, lam, None)
    torch.testing.assert_close(grad, grad_ref, rtol=1e-11, atol=1e-13)
