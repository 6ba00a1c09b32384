"""Gradient check and conditioning against references (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from caviar.diagnose import condition_number, gradient_check, hessian_conditioning
from caviar.diagnose.conditioning import lanczos_extremes
from caviar.diagnose.gradient_check import model_tensors
from caviar.diagnose.objective import member_objective
from caviar.losses import LOSSES, get_loss
from caviar.nn import PopulationMLP

D = torch.float64


class WrongSquare(torch.autograd.Function):
    """x^2 with a deliberately wrong backward (3x instead of 2x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x


def test_gradient_check_flags_a_wrong_gradient() -> None:
    theta = torch.linspace(-1, 1, 7, dtype=D)
    tensors = [("a", 0, 3), ("b", 3, 7)]
    good = gradient_check(lambda f: (f * f).sum(-1) + f[:, 3:].sin().sum(-1), theta, tensors)
    assert all(c.ok for c in good) and max(c.max_rel_error for c in good) < 1e-7

    def half_wrong(f):
        return f[:, :3].pow(2).sum(-1) + WrongSquare.apply(f[:, 3:]).sum(-1)

    checks = gradient_check(half_wrong, theta, tensors)
    assert checks[0].ok and not checks[1].ok
    assert checks[1].max_rel_error == pytest.approx(1 / 3, rel=1e-6)


def _mlp(activation: str, n_out: int, seed: int = 0) -> PopulationMLP:
    model = PopulationMLP([4, 5, 3, n_out], 1, activation=activation, dtype=D)
    model.initialize([seed], init="glorot_normal", scale=1.0)
    return model


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu"])
@pytest.mark.parametrize("loss", sorted(set(s.name for s in LOSSES.values())))
def test_gradient_check_passes_every_layer_and_loss(activation: str, loss: str) -> None:
    spec = get_loss(loss)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(16, 4, generator=gen, dtype=D)
    if spec.task == "classification":
        n_out = spec.n_outputs(3)
        y = torch.randint(0, 3 if n_out > 1 else 2, (16,), generator=gen)
    else:
        n_out = 2
        y = torch.randn(16, 2, generator=gen, dtype=D)
    model = _mlp(activation, n_out)
    pen = {"l1_kernel": 0.01, "l2_kernel": 0.02, "l2_bias": 0.01, "l2_activity": 0.01}
    f = member_objective(
        model, x, y, loss_name=loss, loss_hypers=dict(spec.hypers), penalty=pen, slope=0.1
    )
    checks = gradient_check(f, model.flat[0], model_tensors(model))
    assert len(checks) == 6
    bad = [(c.name, c.max_rel_error) for c in checks if not c.ok]
    assert not bad, bad


def test_condition_number_matches_numpy_on_a_quadratic() -> None:
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    A = Q @ np.diag([1e-2, 0.5, 1.0, 3.0, 10.0, 40.0]) @ Q.T
    At = torch.tensor(A)
    f = lambda x: 0.5 * ((x @ At) * x).sum(-1) + x.sum(-1)  # noqa: E731
    point = torch.randn(1, 6, dtype=D)
    report = hessian_conditioning(f, point)
    assert report["condition_number"] == pytest.approx(np.linalg.cond(A), rel=1e-9)
    assert float(condition_number(At)) == pytest.approx(np.linalg.cond(A), rel=1e-9)
    lanczos = hessian_conditioning(f, point, max_dense=0, lanczos_steps=6)
    assert lanczos["method"].startswith("lanczos")
    assert lanczos["condition_number"] == pytest.approx(np.linalg.cond(A), rel=1e-6)


def test_lanczos_bounds_are_honest() -> None:
    rng = np.random.default_rng(1)
    n = 80
    eig = np.concatenate([[-3.0], rng.uniform(0.1, 5.0, n - 2), [12.0]])
    mats = []
    for p in range(2):
        Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
        mats.append(Q @ np.diag(eig * (p + 1)) @ Q.T)
    M = torch.tensor(np.stack(mats))
    est = lanczos_extremes(lambda v: (M @ v[:, :, None]).squeeze(-1), (2, n), steps=25)
    for p in range(2):
        top, low = 12.0 * (p + 1), -3.0 * (p + 1)
        assert abs(float(est["lambda_max"][p]) - top) <= float(est["err_max"][p]) + 1e-9
        assert abs(float(est["lambda_min"][p]) - low) <= float(est["err_min"][p]) + 1e-9
        assert abs(float(est["lambda_max"][p]) - top) < 1e-3 * top


def test_lanczos_estimate_on_an_mlp_hessian_within_its_bound() -> None:
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(40, 4, generator=gen, dtype=D)
    y = torch.randint(0, 3, (40,), generator=gen)
    model = _mlp("tanh", 3)
    f = member_objective(
        model,
        x,
        y,
        loss_name="cross_entropy",
        loss_hypers={"label_smoothing": 0.0},
        penalty={"l2_kernel": 0.05},
        slope=0.0,
    )
    exact = hessian_conditioning(f, model.flat[:1])
    est = hessian_conditioning(f, model.flat[:1], max_dense=0, lanczos_steps=20)
    assert est["method"] == "lanczos(20 steps)"
    assert abs(est["lambda_max"] - exact["lambda_max"]) <= est["err_max"] + 1e-10
    assert abs(est["lambda_max"] - exact["lambda_max"]) < 1e-6 * abs(exact["lambda_max"])
    assert est["lambda_min"] >= exact["lambda_min"] - 1e-10  # Ritz values lie inside
