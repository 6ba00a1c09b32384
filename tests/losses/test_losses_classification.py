"""Cross-entropy, binary cross-entropy and KL divergence against torch, per member, float64."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from caviar.losses import binary_cross_entropy, cross_entropy, kl_divergence
from caviar.losses.cross_entropy import smoothed_targets

DT = torch.float64
P, B, K = 4, 9, 5
EPS = torch.tensor([0.0, 0.05, 0.2, 0.6], dtype=DT)  # different smoothing per member


def _logits(seed: int, k: int = K) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 3.0 * torch.randn(P, B, k, generator=g, dtype=DT)


def _codes(seed: int, shape: tuple[int, ...], k: int = K) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, k, shape, generator=g)


def _smoothed_targets(codes: torch.Tensor, eps: float, k: int) -> torch.Tensor:
    """Label smoothing by hand (:ref:`bg-label-smoothing`): true class 1 − ε, each other
    class ε/(K−1)."""
    p = torch.full((codes.shape[0], k), eps / (k - 1), dtype=DT)
    p[torch.arange(codes.shape[0]), codes] = 1.0 - eps
    return p


# ---------------------------------------------------------------- cross-entropy


@pytest.mark.parametrize("per_member_target", [False, True])
def test_cross_entropy_matches_torch_under_reparametrization(per_member_target):
    logits = _logits(0)
    y = _codes(1, (P, B) if per_member_target else (B,))
    out = cross_entropy(logits, y, EPS)
    assert out.shape == (P,)
    for m in range(P):
        ym = y[m] if per_member_target else y
        eps_torch = float(EPS[m]) * K / (K - 1)
        expected = F.cross_entropy(logits[m], ym, label_smoothing=eps_torch)
        torch.testing.assert_close(out[m], expected, rtol=1e-13, atol=1e-13)


def test_cross_entropy_smoothing_is_not_torchs_smoothing():
    # same ε means different targets in torch (true 1 − ε + ε/K, others ε/K)
    logits, y = _logits(2), _codes(3, (B,))
    ours = cross_entropy(logits, y, 0.2)
    theirs = torch.stack([F.cross_entropy(logits[m], y, label_smoothing=0.2) for m in range(P)])
    assert (ours - theirs).abs().min() > 1e-3


def test_cross_entropy_equals_hand_formula_with_smoothed_targets():
    logits, y = _logits(4), _codes(5, (B,))
    out = cross_entropy(logits, y, EPS)
    for m in range(P):
        p = _smoothed_targets(y, float(EPS[m]), K)
        expected = -(p * torch.log_softmax(logits[m], -1)).sum(-1).mean()
        torch.testing.assert_close(out[m], expected, rtol=1e-13, atol=1e-13)


def test_smoothed_targets_are_the_hand_formula():
    logits, y = _logits(6), _codes(7, (B,))
    p = smoothed_targets(logits, y, EPS, "cross_entropy")
    assert p.shape == (P, B, K)
    for m in range(P):
        torch.testing.assert_close(p[m], _smoothed_targets(y, float(EPS[m]), K), rtol=0, atol=1e-15)
    torch.testing.assert_close(p.sum(-1), torch.ones(P, B, dtype=DT))


def test_cross_entropy_probability_targets_match_torch():
    logits = _logits(8)
    g = torch.Generator().manual_seed(9)
    p = torch.softmax(torch.randn(B, K, generator=g, dtype=DT), -1)
    out = cross_entropy(logits, p)
    for m in range(P):
        torch.testing.assert_close(out[m], F.cross_entropy(logits[m], p), rtol=1e-13, atol=1e-13)
    # smoothing a one-hot float target is smoothing the class codes
    y = _codes(10, (B,))
    torch.testing.assert_close(
        cross_entropy(logits, F.one_hot(y, K).to(DT), EPS), cross_entropy(logits, y, EPS)
    )


def test_cross_entropy_reduction_none_and_default():
    logits, y = _logits(11), _codes(12, (B,))
    none = cross_entropy(logits, y, EPS, reduction="none")
    assert none.shape == (P, B)
    torch.testing.assert_close(cross_entropy(logits, y, EPS), none.mean(1))
    torch.testing.assert_close(cross_entropy(logits, y), cross_entropy(logits, y, 0.0))
    for m in range(P):
        eps_t = float(EPS[m]) * K / (K - 1)
        ref = F.cross_entropy(logits[m], y, label_smoothing=eps_t, reduction="none")
        torch.testing.assert_close(none[m], ref, rtol=1e-13, atol=1e-13)


# --------------------------------------------------------- binary cross-entropy


def test_bce_single_output_matches_torch():
    logits = _logits(13, k=1)
    y = _codes(14, (B,), k=2)
    out = binary_cross_entropy(logits, y)
    for m in range(P):
        expected = F.binary_cross_entropy_with_logits(logits[m, :, 0], y.to(DT))
        torch.testing.assert_close(out[m], expected, rtol=1e-13, atol=1e-13)
    # float 0/1 labels and per-member codes give the same
    torch.testing.assert_close(binary_cross_entropy(logits, y.to(DT)), out)
    torch.testing.assert_close(binary_cross_entropy(logits, y.expand(P, B)), out)


def test_bce_multi_output_one_hot_matches_torch():
    logits = _logits(15, k=4)
    y = _codes(16, (B,), k=4)
    out = binary_cross_entropy(logits, y)
    for m in range(P):
        expected = F.binary_cross_entropy_with_logits(logits[m], F.one_hot(y, 4).to(DT))
        torch.testing.assert_close(out[m], expected, rtol=1e-13, atol=1e-13)


def test_bce_multilabel_float_targets_match_torch():
    logits = _logits(17, k=3)
    g = torch.Generator().manual_seed(18)
    y = torch.rand(P, B, 3, generator=g, dtype=DT)  # per-member soft labels
    out = binary_cross_entropy(logits, y)
    for m in range(P):
        expected = F.binary_cross_entropy_with_logits(logits[m], y[m])
        torch.testing.assert_close(out[m], expected, rtol=1e-13, atol=1e-13)


def test_bce_gradient_at_zero_logit_is_sigmoid_minus_target():
    logits = torch.zeros(1, 2, 1, dtype=DT, requires_grad=True)
    binary_cross_entropy(logits, torch.tensor([0, 1]), reduction="sum").sum().backward()
    torch.testing.assert_close(logits.grad, torch.tensor([[[0.5], [-0.5]]], dtype=DT))


# ---------------------------------------------------------------- KL divergence


def test_kl_matches_torch_kl_div_batchmean():
    logits, y = _logits(19), _codes(20, (B,))
    out = kl_divergence(logits, y, EPS)
    for m in range(P):
        p = _smoothed_targets(y, float(EPS[m]), K)
        expected = F.kl_div(torch.log_softmax(logits[m], -1), p, reduction="batchmean")
        torch.testing.assert_close(out[m], expected, rtol=1e-13, atol=1e-13)


def test_kl_equals_cross_entropy_for_one_hot_and_differs_by_entropy_otherwise():
    logits, y = _logits(21), _codes(22, (B,))
    torch.testing.assert_close(
        kl_divergence(logits, y), cross_entropy(logits, y), rtol=1e-14, atol=0
    )
    # KL = CE − H(p'), H(p') = −(1−ε)log(1−ε) − ε log(ε/(K−1))
    e = EPS
    entropy = -torch.special.xlogy(1 - e, 1 - e) - torch.special.xlogy(e, e / (K - 1))
    torch.testing.assert_close(
        kl_divergence(logits, y, EPS),
        cross_entropy(logits, y, EPS) - entropy,
        rtol=1e-12,
        atol=1e-12,
    )


def test_kl_zero_probabilities_and_self_divergence():
    logits = _logits(23)
    q = torch.softmax(logits, -1)  # per-member targets equal to the prediction: KL = 0
    torch.testing.assert_close(
        kl_divergence(logits, q), torch.zeros(P, dtype=DT), rtol=0, atol=1e-13
    )
    # targets with exact zeros: 0 log 0 = 0, finite, matches torch
    p = torch.tensor([[0.0, 0.5, 0.5, 0.0, 0.0]], dtype=DT).expand(B, K)
    out = kl_divergence(logits, p)
    assert torch.isfinite(out).all()
    for m in range(P):
        ref = F.kl_div(torch.log_softmax(logits[m], -1), p, reduction="batchmean")
        torch.testing.assert_close(out[m], ref, rtol=1e-13, atol=1e-13)


@settings(max_examples=40, deadline=None)
@given(
    n_classes=st.integers(2, 6),
    eps=st.floats(0.0, 0.95),
    seed=st.integers(0, 2**31 - 1),
)
def test_property_smoothed_losses(n_classes, eps, seed):
    g = torch.Generator().manual_seed(seed)
    logits = 4 * torch.randn(2, 5, n_classes, generator=g, dtype=DT)
    y = torch.randint(0, n_classes, (5,), generator=g)
    ce = cross_entropy(logits, y, eps)
    kl = kl_divergence(logits, y, eps)
    assert (kl >= -1e-12).all()
    assert (ce >= kl - 1e-12).all()  # CE − KL = H(p') ≥ 0
    for m in range(2):
        p = _smoothed_targets(y, eps, n_classes)
        ref = -(p * torch.log_softmax(logits[m], -1)).sum(-1).mean()
        torch.testing.assert_close(ce[m], ref, rtol=1e-12, atol=1e-12)
