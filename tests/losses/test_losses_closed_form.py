"""The closed-form cross-entropy gradient ``(q − p')/B`` against autograd and torch (float64).

``cross_entropy_and_gradient`` is the trainer's fast path (no autograd graph for the loss);
it must give the same loss as :func:`caviar.losses.cross_entropy` and the same gradient as
autograd through it, for shared and per-member class codes and label smoothing.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from caviar.losses import cross_entropy, get_loss
from caviar.losses.cross_entropy import cross_entropy_and_gradient

DT = torch.float64
P, B = 5, 7


def _case(K: int, member_codes: bool, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    logits = 3.0 * torch.randn(P, B, K, generator=g, dtype=DT)
    codes = torch.randint(0, K, (P, B) if member_codes else (B,), generator=g)
    return logits, codes


def _autograd(logits, codes, eps):
    out = logits.clone().requires_grad_(True)
    loss = cross_entropy(out, codes, eps)
    loss.sum().backward()
    return loss.detach(), out.grad


@pytest.mark.parametrize("K", [2, 10])
@pytest.mark.parametrize("member_codes", [False, True], ids=["shared_codes", "member_codes"])
@pytest.mark.parametrize("smoothing", ["none", "shared", "member"])
def test_closed_form_equals_autograd(K, member_codes, smoothing) -> None:
    logits, codes = _case(K, member_codes)
    eps = {
        "none": 0.0,
        "shared": 0.1,
        "member": torch.tensor([0.0, 0.05, 0.2, 0.5, 0.9], dtype=DT),
    }[smoothing]
    value, grad = cross_entropy_and_gradient(logits, codes, eps)
    ref_value, ref_grad = _autograd(logits, codes, eps)
    assert grad.shape == (P, B, K)
    torch.testing.assert_close(value, ref_value, rtol=1e-13, atol=1e-14)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-12, atol=1e-15)
    # each example's gradient row sums to zero (q and p' both sum to one), scaled by 1/B
    torch.testing.assert_close(grad.sum(-1), torch.zeros(P, B, dtype=DT), rtol=0, atol=1e-15)


def test_matches_torch_cross_entropy_with_mapped_smoothing() -> None:
    K, eps = 4, 0.3
    logits, codes = _case(K, member_codes=False, seed=3)
    value, grad = cross_entropy_and_gradient(logits, codes, eps)
    eps_torch = eps * K / (K - 1)  # torch spreads ε over all K classes (module docstring)
    for p in range(P):
        x = logits[p].clone().requires_grad_(True)
        ref = F.cross_entropy(x, codes, label_smoothing=eps_torch)
        ref.backward()
        torch.testing.assert_close(value[p], ref.detach(), rtol=1e-13, atol=1e-14)
        torch.testing.assert_close(grad[p], x.grad, rtol=1e-12, atol=1e-15)


def test_huge_logits_stay_finite() -> None:
    logits = torch.tensor([[[1e4, -1e4, 0.0]]], dtype=DT)
    value, grad = cross_entropy_and_gradient(logits, torch.tensor([1]))
    assert torch.isfinite(value).all() and torch.isfinite(grad).all()
    torch.testing.assert_close(value, torch.tensor([2e4], dtype=DT))
    torch.testing.assert_close(grad[0, 0], torch.tensor([1.0, -1.0, 0.0], dtype=DT))


def test_registered_only_for_cross_entropy() -> None:
    assert get_loss("cross_entropy").with_gradient is cross_entropy_and_gradient
    others = ("kl_divergence", "hinge", "binary_cross_entropy", "mse", "huber")
    assert all(get_loss(n).with_gradient is None for n in others)
