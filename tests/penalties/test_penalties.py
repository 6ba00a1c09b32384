"""Kernel, bias and activity L1/L2 penalties (:ref:`bg-penalties`), float64."""

from __future__ import annotations

import pytest
import torch
from torch.autograd import gradcheck

import caviar.penalties.total as total_module
from caviar.errors import CaviarError
from caviar.penalties import (
    activity_l1,
    activity_l2,
    activity_penalty,
    l1_norm,
    parameter_penalty,
    penalties,
    squared_l2_norm,
)

DT = torch.float64
P, B = 4, 5
SHAPES = [(3, 4), (4, 2)]


def _model(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    weights = [torch.randn(P, i, o, generator=g, dtype=DT) for i, o in SHAPES]
    biases = [torch.randn(P, 1, o, generator=g, dtype=DT) for _, o in SHAPES]
    activities = [
        torch.randn(P, B, 4, generator=g, dtype=DT),
        torch.randn(P, B, 2, generator=g, dtype=DT),
    ]
    return weights, biases, activities


LAMS = {
    "l1_kernel": torch.tensor([0.0, 0.1, 0.2, 0.3], dtype=DT),
    "l2_kernel": torch.tensor([0.5, 0.0, 0.01, 0.7], dtype=DT),
    "l1_bias": 0.05,
    "l2_bias": torch.tensor([0.2, 0.4, 0.0, 0.1], dtype=DT),
    "l1_activity": torch.tensor([0.03, 0.0, 0.3, 0.6], dtype=DT),
    "l2_activity": 0.25,
}


def _lam(name: str, m: int) -> float:
    v = LAMS[name]
    return float(v[m]) if isinstance(v, torch.Tensor) else v


def test_penalties_match_hand_formula_per_member():
    w, b, a = _model()
    out = penalties(w, b, a, **LAMS)
    assert out.shape == (P,) and out.dtype == DT
    for m in range(P):
        expected = (
            _lam("l1_kernel", m) * sum(float(x[m].abs().sum()) for x in w)
            + _lam("l2_kernel", m) * sum(float((x[m] ** 2).sum()) for x in w)
            + _lam("l1_bias", m) * sum(float(x[m].abs().sum()) for x in b)
            + _lam("l2_bias", m) * sum(float((x[m] ** 2).sum()) for x in b)
            # Keras activity convention: per-example sum over units, mean over the batch
            + _lam("l1_activity", m) * sum(float(x[m].abs().sum(-1).mean()) for x in a)
            + _lam("l2_activity", m) * sum(float((x[m] ** 2).sum(-1).mean()) for x in a)
        )
        torch.testing.assert_close(out[m], torch.tensor(expected, dtype=DT), rtol=1e-13, atol=1e-14)


def test_family_functions():
    w, b, a = _model(1)
    torch.testing.assert_close(l1_norm(w), sum(x.abs().sum((1, 2)) for x in w))
    torch.testing.assert_close(squared_l2_norm(b), sum((x**2).sum((1, 2)) for x in b))
    torch.testing.assert_close(activity_l1(a), sum(x.abs().sum((1, 2)) / B for x in a))
    torch.testing.assert_close(activity_l2(a), sum((x**2).sum((1, 2)) / B for x in a))
    lam = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=DT)
    torch.testing.assert_close(
        parameter_penalty(w, l1=lam, l2=0.5), lam * l1_norm(w) + 0.5 * squared_l2_norm(w)
    )
    torch.testing.assert_close(
        activity_penalty(a, l1=0.2, l2=lam), 0.2 * activity_l1(a) + lam * activity_l2(a)
    )
    # the total is the sum of the families
    torch.testing.assert_close(
        penalties(w, b, a, **LAMS),
        parameter_penalty(w, l1=LAMS["l1_kernel"], l2=LAMS["l2_kernel"])
        + parameter_penalty(b, l1=LAMS["l1_bias"], l2=LAMS["l2_bias"])
        + activity_penalty(a, l1=LAMS["l1_activity"], l2=LAMS["l2_activity"]),
    )


def test_activity_penalty_does_not_scale_with_batch_size():
    _, _, a = _model(2)
    doubled = [torch.cat([x, x], dim=1) for x in a]
    torch.testing.assert_close(
        activity_penalty(doubled, l1=0.3, l2=0.2), activity_penalty(a, l1=0.3, l2=0.2)
    )


def test_gradients_are_the_penalties_weight_decay():
    # :ref:`bg-penalties`: L2 subtracts (2)λθ, L1 subtracts λ sign(θ)
    w, b, a = _model(3)
    w = [x.requires_grad_(True) for x in w]
    lam1 = torch.tensor([0.1, 0.2, 0.3, 0.4], dtype=DT)
    lam2 = torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=DT)
    penalties(w, b, a, l1_kernel=lam1, l2_kernel=lam2).sum().backward()
    for x in w:
        expected = lam1.view(P, 1, 1) * torch.sign(x) + 2 * lam2.view(P, 1, 1) * x
        torch.testing.assert_close(x.grad, expected.detach())


def test_gradcheck_all_inputs():
    g = torch.Generator().manual_seed(4)
    w = [torch.randn(2, 3, 2, generator=g, dtype=DT, requires_grad=True)]
    b = [torch.randn(2, 1, 2, generator=g, dtype=DT, requires_grad=True)]
    a = [torch.randn(2, 3, 2, generator=g, dtype=DT, requires_grad=True)]
    for t in (w[0], b[0], a[0]):
        assert t.detach().abs().min() > 1e-3  # away from the L1 kink
    lams = {
        "l1_kernel": torch.tensor([0.1, 0.3], dtype=DT),
        "l2_kernel": 0.2,
        "l1_bias": torch.tensor([0.5, 0.0], dtype=DT),
        "l2_bias": 0.7,
        "l1_activity": 0.4,
        "l2_activity": torch.tensor([0.2, 0.9], dtype=DT),
    }

    def fn(wi, bi, ai):
        return penalties([wi], [bi], [ai], **lams)

    assert gradcheck(fn, (w[0], b[0], a[0]), eps=1e-6, atol=1e-8)


def test_population_independence():
    w, b, a = _model(5)
    w = [x.requires_grad_(True) for x in w]
    a = [x.requires_grad_(True) for x in a]
    penalties(w, b, a, **LAMS).sum().backward()
    for m in range(P):
        wm = [x[m : m + 1].detach().clone().requires_grad_(True) for x in w]
        am = [x[m : m + 1].detach().clone().requires_grad_(True) for x in a]
        lams_m = {k: (v[m : m + 1] if isinstance(v, torch.Tensor) else v) for k, v in LAMS.items()}
        penalties(wm, [x[m : m + 1] for x in b], am, **lams_m).sum().backward()
        for full, alone in zip(w + a, wm + am, strict=True):
            torch.testing.assert_close(full.grad[m], alone.grad[0], rtol=1e-14, atol=1e-15)


def test_zero_lambdas_skip_the_work(monkeypatch):
    w, b, a = _model(6)

    def boom(_tensors):
        raise AssertionError("a zero-λ term was computed")

    for name in ("l1_norm", "squared_l2_norm", "activity_l1", "activity_l2"):
        monkeypatch.setattr(total_module, name, boom)
    out = penalties(w, b, a, l1_kernel=0.0, l2_kernel=torch.zeros(P, dtype=DT))
    torch.testing.assert_close(out, torch.zeros(P, dtype=DT))
    out = penalties(w, b, a)  # all defaults are 0
    torch.testing.assert_close(out, torch.zeros(P, dtype=DT))


def test_empty_groups_and_float32():
    w, b, _ = _model(7)
    out = penalties(w, [], [], l2_kernel=0.1, l1_activity=0.5)
    torch.testing.assert_close(out, 0.1 * squared_l2_norm(w))
    out32 = penalties([x.float() for x in w], [], [], l2_kernel=torch.full((P,), 0.1, dtype=DT))
    assert out32.dtype == torch.float32


@pytest.mark.parametrize(
    "name", ["l1_kernel", "l2_kernel", "l1_bias", "l2_bias", "l1_activity", "l2_activity"]
)
def test_negative_lambda(name):
    w, b, a = _model(8)
    with pytest.raises(CaviarError) as e:
        penalties(w, b, a, **{name: -0.1})
    msg = str(e.value)
    assert "\n" not in msg and name in msg and "-0.1" in msg
    lam = torch.tensor([0.1, 0.0, -2.0, 0.3], dtype=DT)
    with pytest.raises(CaviarError) as e:
        penalties(w, b, a, **{name: lam})
    msg = str(e.value)
    assert "\n" not in msg and name in msg and "-2" in msg and "member 2" in msg


def test_bad_lambda_values():
    w, b, a = _model(9)
    for bad in (float("nan"), torch.tensor([0.1, float("nan"), 0.0, 0.0], dtype=DT), torch.ones(3)):
        with pytest.raises(CaviarError) as e:
            penalties(w, b, a, l2_kernel=bad)
        assert "\n" not in str(e.value)
    with pytest.raises(CaviarError):
        parameter_penalty(w, l1=-1.0)
    with pytest.raises(CaviarError):
        activity_penalty(a, l2=-1.0)
