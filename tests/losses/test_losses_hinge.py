"""Hinge and squared hinge (:ref:`bg-hinge`): a worked example, torch multi_margin_loss,
hand formula."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from caviar.losses import multiclass_hinge, squared_hinge

DT = torch.float64
P, B, K = 4, 8, 4


def _worked_example_table():
    # columns are examples X1..X3, rows the scores ŷ_1..ŷ_3; y is 1-based.
    table = torch.tensor(
        [
            [0.5, 0.4, 0.3],  # ŷ_1
            [1.3, 0.8, -0.6],  # ŷ_2
            [1.4, -0.4, 2.7],  # ŷ_3
        ],
        dtype=DT,
    )
    scores = table.T.unsqueeze(0)  # (P=1, B=3 examples, K=3 classes)
    y = torch.tensor([3, 2, 3]) - 1  # 1-based → class codes
    return scores, y


def test_worked_example():
    scores, y = _worked_example_table()
    per_example = multiclass_hinge(scores, y, reduction="none")
    assert per_example.shape == (1, 3)
    torch.testing.assert_close(
        per_example[0], torch.tensor([1.0, 0.6, 0.0], dtype=DT), rtol=0, atol=1e-15
    )
    torch.testing.assert_close(multiclass_hinge(scores, y), torch.tensor([1.6 / 3], dtype=DT))


def test_worked_example_squared():
    scores, y = _worked_example_table()
    per_example = squared_hinge(scores, y, reduction="none")[0]
    # ½(0.9² + 0.1²), ½(0.6² + 0²), 0
    torch.testing.assert_close(
        per_example, torch.tensor([0.41, 0.18, 0.0], dtype=DT), rtol=0, atol=1e-15
    )


def _data(seed: int, per_member_target: bool = False):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(P, B, K, generator=g, dtype=DT)
    y = torch.randint(0, K, (P, B) if per_member_target else (B,), generator=g)
    return scores, y


@pytest.mark.parametrize("per_member_target", [False, True])
def test_hinge_matches_multi_margin_loss_times_k(per_member_target):
    scores, y = _data(0, per_member_target)
    out = multiclass_hinge(scores, y)
    assert out.shape == (P,)
    assert (out > 0).all()
    for m in range(P):
        ym = y[m] if per_member_target else y
        expected = K * F.multi_margin_loss(scores[m], ym, p=1, margin=1.0)
        torch.testing.assert_close(out[m], expected, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("per_member_target", [False, True])
def test_squared_hinge_matches_torch_and_hand_formula(per_member_target):
    scores, y = _data(1, per_member_target)
    out = squared_hinge(scores, y)
    for m in range(P):
        ym = y[m] if per_member_target else y
        torch_ref = (K / 2) * F.multi_margin_loss(scores[m], ym, p=2, margin=1.0)
        torch.testing.assert_close(out[m], torch_ref, rtol=1e-13, atol=1e-13)
        hand = 0.0
        for i in range(B):
            t = int(ym[i])
            hand += 0.5 * sum(
                max(0.0, float(scores[m, i, j] - scores[m, i, t]) + 1.0) ** 2
                for j in range(K)
                if j != t
            )
        torch.testing.assert_close(out[m], torch.tensor(hand / B, dtype=DT), rtol=1e-13, atol=1e-13)


def test_correct_with_margin_gives_zero():
    scores = torch.tensor([[[5.0, 0.0, 3.9]]], dtype=DT)
    y = torch.tensor([0])
    assert multiclass_hinge(scores, y).item() == 0.0
    assert squared_hinge(scores, y).item() == 0.0
    # inside the margin: 3.9 → 4.5 violates by 0.5
    scores[0, 0, 2] = 4.5
    torch.testing.assert_close(multiclass_hinge(scores, y), torch.tensor([0.5], dtype=DT))
    torch.testing.assert_close(squared_hinge(scores, y), torch.tensor([0.125], dtype=DT))
