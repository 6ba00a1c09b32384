"""Numerical stability: huge logits and residuals give finite losses and gradients."""

from __future__ import annotations

import math

import pytest
import torch

from caviar.losses import (
    LOSSES,
    binary_cross_entropy,
    cross_entropy,
    huber,
    kl_divergence,
    log_cosh,
    multiclass_hinge,
)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cross_entropy_huge_logits(dtype):
    logits = torch.tensor([[[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4]]], dtype=dtype, requires_grad=True)
    y = torch.tensor([0, 0])
    per_example = cross_entropy(logits, y, reduction="none")[0]
    torch.testing.assert_close(per_example, torch.tensor([0.0, 2e4], dtype=dtype))
    smoothed = cross_entropy(logits, y, 0.1)
    smoothed.sum().backward()
    assert torch.isfinite(smoothed).all() and torch.isfinite(logits.grad).all()
    kl = kl_divergence(logits, y, 0.1)
    assert torch.isfinite(kl).all() and (kl >= 0).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_bce_huge_logits(dtype):
    logits = torch.tensor([[[1e4], [-1e4], [1e4], [-1e4]]], dtype=dtype, requires_grad=True)
    y = torch.tensor([1, 0, 0, 1])
    per_example = binary_cross_entropy(logits, y, reduction="none")[0]
    torch.testing.assert_close(per_example, torch.tensor([0.0, 0.0, 1e4, 1e4], dtype=dtype))
    per_example.sum().backward()
    torch.testing.assert_close(
        logits.grad[0, :, 0], torch.tensor([0.0, 0.0, 1.0, -1.0], dtype=dtype)
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_log_cosh_huge_residuals(dtype):
    big = 1e30 if dtype == torch.float32 else 1e300
    pred = torch.tensor([[[1e4], [-1e4], [big]]], dtype=dtype, requires_grad=True)
    per_example = log_cosh(pred, torch.zeros(3, dtype=dtype), reduction="none")[0]
    assert torch.isfinite(per_example).all()
    torch.testing.assert_close(per_example[:2], torch.full((2,), 1e4 - math.log(2), dtype=dtype))
    per_example.sum().backward()
    torch.testing.assert_close(pred.grad[0, :, 0], torch.tensor([1.0, -1.0, 1.0], dtype=dtype))


def test_extreme_inputs_never_nan():
    x = torch.tensor([[[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [0.0, 0.0, 0.0]]], requires_grad=True)
    y = torch.tensor([2, 1, 0])
    for name, spec in LOSSES.items():
        if x.grad is not None:
            x.grad = None
        target = y if spec.task == "classification" else torch.zeros(3, 3)
        out = spec(x, target)
        out.sum().backward()
        assert torch.isfinite(out).all(), name
        assert torch.isfinite(x.grad).all(), name
        if spec.task == "classification":
            proba = spec.predict_proba(x.detach())
            assert torch.isfinite(proba).all(), name
            torch.testing.assert_close(proba.sum(-1), torch.ones(1, 3))


def test_huber_and_hinge_huge_values():
    x = torch.tensor([[[1e30], [-1e30]]])
    assert torch.isfinite(huber(x, torch.zeros(2), 0.5)).all()
    s = torch.tensor([[[1e4, -1e4], [-1e4, 1e4]]])
    torch.testing.assert_close(
        multiclass_hinge(s, torch.tensor([0, 0]), reduction="none")[0], torch.tensor([0.0, 2e4 + 1])
    )


def test_class_axis_softmax_helpers_equal_torch_in_values_and_gradients() -> None:
    from caviar.losses._inputs import class_log_softmax, class_softmax

    g = torch.Generator().manual_seed(0)
    x = (10 * torch.randn(3, 17, 10, generator=g, dtype=torch.float64)).requires_grad_()
    w = torch.randn(3, 17, 10, generator=g, dtype=torch.float64)
    for ours, theirs in ((class_log_softmax, torch.log_softmax), (class_softmax, torch.softmax)):
        (ga,) = torch.autograd.grad((ours(x) * w).sum(), x)
        (gb,) = torch.autograd.grad((theirs(x, dim=-1) * w).sum(), x)
        torch.testing.assert_close(ours(x), theirs(x, dim=-1), rtol=1e-14, atol=1e-14)
        torch.testing.assert_close(ga, gb, rtol=1e-13, atol=1e-13)
