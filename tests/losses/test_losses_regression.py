"""Regression losses against torch.nn.functional / hand formulas, per member, float64."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from caviar.losses import huber, l1, l2, log_cosh

DT = torch.float64
P, B, K = 4, 7, 3


def _data(seed: int = 0, per_member_target: bool = False):
    g = torch.Generator().manual_seed(seed)
    pred = 2.0 * torch.randn(P, B, K, generator=g, dtype=DT)
    shape = (P, B, K) if per_member_target else (B, K)
    target = torch.randn(*shape, generator=g, dtype=DT)
    return pred, target


def _member_target(target: torch.Tensor, m: int) -> torch.Tensor:
    return target[m] if target.dim() == 3 else target


@pytest.mark.parametrize("per_member_target", [False, True])
@pytest.mark.parametrize(("ours", "ref"), [(l1, F.l1_loss), (l2, F.mse_loss)], ids=["l1", "l2"])
def test_l1_l2_match_torch(ours, ref, per_member_target):
    pred, target = _data(1, per_member_target)
    out = ours(pred, target)
    assert out.shape == (P,) and out.dtype == DT
    for m in range(P):
        expected = ref(pred[m], _member_target(target, m))
        torch.testing.assert_close(out[m], expected, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize("per_member_target", [False, True])
def test_huber_per_member_delta_matches_torch(per_member_target):
    _, target = _data(2, per_member_target)
    delta = torch.tensor([0.3, 0.7, 1.0, 2.5], dtype=DT)
    g = torch.Generator().manual_seed(12)
    scale = torch.rand(P, B, K, generator=g, dtype=DT) * 6.0 - 3.0  # residuals in ±3δ
    pred = target + delta.view(P, 1, 1) * scale
    r = (pred - target).abs()
    # the data exercises both branches for every member
    for m in range(P):
        assert (r[m] <= delta[m]).any() and (r[m] > delta[m]).any()
    out = huber(pred, target, delta)
    for m in range(P):
        expected = F.huber_loss(pred[m], _member_target(target, m), delta=float(delta[m]))
        torch.testing.assert_close(out[m], expected, rtol=1e-13, atol=1e-14)


def test_huber_formula_and_float_delta():
    # :ref:`bg-regression-losses`: ½ r² inside, δ(|r| − ½δ) outside; δ = 0.5 as a python float
    pred = torch.tensor([[[0.2], [1.5], [-3.0]]], dtype=DT)  # (1, 3, 1)
    target = torch.zeros(3, dtype=DT)  # (B,) means K = 1
    per_example = huber(pred, target, 0.5, reduction="none")
    expected = torch.tensor([[0.5 * 0.04, 0.5 * (1.5 - 0.25), 0.5 * (3.0 - 0.25)]], dtype=DT)
    torch.testing.assert_close(per_example, expected, rtol=1e-15, atol=1e-15)


def test_huber_default_delta_is_one():
    pred, target = _data(3)
    torch.testing.assert_close(huber(pred, target), huber(pred, target, torch.ones(P, dtype=DT)))


def test_log_cosh_matches_log_of_cosh():
    pred, target = _data(4)
    out = log_cosh(pred, target)
    for m in range(P):
        expected = torch.log(torch.cosh(pred[m] - target)).mean()
        torch.testing.assert_close(out[m], expected, rtol=1e-13, atol=1e-14)


def test_log_cosh_asymptotes():
    r = torch.tensor([[[1e-4], [50.0], [-800.0]]], dtype=DT)
    per_example = log_cosh(r, torch.zeros(3, dtype=DT), reduction="none")[0]
    torch.testing.assert_close(per_example[0], torch.tensor(0.5e-8, dtype=DT), rtol=1e-8, atol=0)
    torch.testing.assert_close(per_example[1], torch.tensor(50 - math.log(2), dtype=DT))
    torch.testing.assert_close(per_example[2], torch.tensor(800 - math.log(2), dtype=DT))


@pytest.mark.parametrize("loss", [l1, l2, huber, log_cosh])
def test_target_layouts_agree(loss):
    g = torch.Generator().manual_seed(5)
    pred = torch.randn(P, B, 1, generator=g, dtype=DT)
    y = torch.randn(B, generator=g, dtype=DT)
    ref = loss(pred, y.unsqueeze(-1))  # (B, K)
    torch.testing.assert_close(loss(pred, y), ref)  # (B,) with K = 1
    torch.testing.assert_close(loss(pred, y.expand(P, B)), ref)  # (P, B) with K = 1
    torch.testing.assert_close(loss(pred, y.reshape(1, B, 1).expand(P, B, 1)), ref)  # (P, B, K)


@pytest.mark.parametrize("loss", [l1, l2, huber, log_cosh])
def test_reductions(loss):
    pred, target = _data(6)
    none = loss(pred, target, reduction="none")
    assert none.shape == (P, B)
    torch.testing.assert_close(loss(pred, target), none.mean(dim=1))
    torch.testing.assert_close(loss(pred, target, reduction="sum"), none.sum(dim=1))
    # the per-example loss is the mean over the K outputs
    torch.testing.assert_close(
        none[:, 0],
        torch.stack([loss(pred[:, :1, k : k + 1], target[:1, k]) for k in range(K)]).mean(0),
    )


def test_float32_stays_float32():
    pred, target = _data(7)
    assert l2(pred.float(), target.float()).dtype == torch.float32
    assert huber(pred.float(), target, torch.ones(P, dtype=DT)).dtype == torch.float32
