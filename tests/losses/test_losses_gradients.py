"""Finite-difference gradient checks (float64) and population independence for every loss."""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck

from caviar.losses import (
    binary_cross_entropy,
    cross_entropy,
    huber,
    kl_divergence,
    l1,
    l2,
    log_cosh,
    multiclass_hinge,
    squared_hinge,
)

DT = torch.float64
P, B, K = 3, 4, 3


def _scores_away_from_hinge_kinks(seed: int, y: torch.Tensor) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    while True:
        s = torch.randn(P, B, K, generator=g, dtype=DT)
        margin = s - s.gather(-1, y.expand(P, B).unsqueeze(-1)) + 1.0
        wrong = torch.arange(K) != y.unsqueeze(-1)
        if (margin.abs()[wrong.expand(P, B, K)] > 0.05).all() and (
            margin[wrong.expand(P, B, K)] > 0
        ).any():
            return s


def _regression_case(seed: int):
    g = torch.Generator().manual_seed(seed)
    pred = torch.randn(P, B, K, generator=g, dtype=DT)
    target = torch.randn(B, K, generator=g, dtype=DT)
    return pred, target


DELTA = torch.tensor([0.4, 1.0, 2.0], dtype=DT)
EPS = torch.tensor([0.0, 0.1, 0.5], dtype=DT)
Y = torch.tensor([0, 2, 1, 2])


def _huber_point(seed: int):
    pred, target = _regression_case(seed)
    r = pred - target
    d = DELTA.view(P, 1, 1)
    # move residuals that sit within 0.05 of the kink |r| = δ away from it
    near = (r.abs() - d).abs() < 0.05
    pred = torch.where(near, pred + 0.2 * torch.sign(r), pred)
    assert ((pred - target).abs() - d).abs().min() > 0.05
    return pred, target


CASES = {
    "l1": lambda: (lambda x: l1(x, _regression_case(0)[1]), _regression_case(0)[0]),
    "l2": lambda: (lambda x: l2(x, _regression_case(1)[1]), _regression_case(1)[0]),
    "huber": lambda: (lambda x: huber(x, _huber_point(2)[1], DELTA), _huber_point(2)[0]),
    "log_cosh": lambda: (lambda x: log_cosh(x, _regression_case(3)[1]), _regression_case(3)[0]),
    "cross_entropy": lambda: (lambda x: cross_entropy(x, Y, EPS), _regression_case(4)[0]),
    "cross_entropy_soft": lambda: (
        lambda x: cross_entropy(x, torch.softmax(_regression_case(5)[1], -1), EPS),
        _regression_case(5)[0],
    ),
    "kl_divergence": lambda: (lambda x: kl_divergence(x, Y, EPS), _regression_case(6)[0]),
    "binary_cross_entropy": lambda: (lambda x: binary_cross_entropy(x, Y), _regression_case(7)[0]),
    "binary_cross_entropy_1": lambda: (
        lambda x: binary_cross_entropy(x, torch.tensor([0, 1, 1, 0])),
        _regression_case(8)[0][..., :1],
    ),
    "hinge": lambda: (lambda x: multiclass_hinge(x, Y), _scores_away_from_hinge_kinks(9, Y)),
    "squared_hinge": lambda: (lambda x: squared_hinge(x, Y), _scores_away_from_hinge_kinks(10, Y)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_gradcheck_wrt_predictions(name):
    fn, x = CASES[name]()
    x = x.clone().requires_grad_(True)
    assert gradcheck(fn, (x,), eps=1e-6, atol=1e-8, rtol=1e-6)


def test_gradcheck_wrt_hyperparameters():
    pred, target = _huber_point(11)
    delta = DELTA.clone().requires_grad_(True)
    assert gradcheck(lambda d: huber(pred, target, d), (delta,), eps=1e-6, atol=1e-8)
    logits = _regression_case(12)[0]
    eps = torch.tensor([0.05, 0.1, 0.5], dtype=DT, requires_grad=True)
    assert gradcheck(lambda e: cross_entropy(logits, Y, e), (eps,), eps=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", list(CASES))
def test_population_independence(name):
    fn, x = CASES[name]()
    x = x.clone().requires_grad_(True)
    # Jacobian of the (P,) losses w.r.t. the (P, B, K) predictions is block diagonal
    jac = torch.autograd.functional.jacobian(fn, x)  # (P, P, B, K)
    for i in range(P):
        for j in range(P):
            if i != j:
                assert (jac[i, j] == 0).all()
    # the gradient of the summed loss for member i is member i's own gradient
    fn(x).sum().backward()
    for i in range(P):
        torch.testing.assert_close(x.grad[i], jac[i, i], rtol=1e-14, atol=1e-15)


def _single_member(loss, pred, target, hyper=None):
    """Loss of members evaluated one at a time, each with its own hyper."""
    out = []
    for m in range(pred.shape[0]):
        xm = pred[m : m + 1].detach().clone().requires_grad_(True)
        args = () if hyper is None else (hyper[m : m + 1],)
        loss(xm, target, *args).sum().backward()
        out.append(xm.grad[0])
    return torch.stack(out)


@pytest.mark.parametrize(
    ("loss", "hyper", "classification"),
    [
        (huber, DELTA, False),
        (l2, None, False),
        (cross_entropy, EPS, True),
        (kl_divergence, EPS, True),
        (squared_hinge, None, True),
    ],
    ids=["huber", "l2", "cross_entropy", "kl_divergence", "squared_hinge"],
)
def test_population_gradient_equals_member_alone(loss, hyper, classification):
    pred, target = _regression_case(13)
    if classification:
        target = Y
    x = pred.clone().requires_grad_(True)
    args = () if hyper is None else (hyper,)
    loss(x, target, *args).sum().backward()
    torch.testing.assert_close(
        x.grad, _single_member(loss, pred, target, hyper), rtol=1e-14, atol=1e-15
    )
