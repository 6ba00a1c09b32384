"""Weighted losses (class and sample weights) against torch's weighted losses, float64."""

import pytest
import torch
import torch.nn.functional as F

from caviar.losses import get_loss
from caviar.losses.weighted import weighted_loss

P, B, K = 3, 11, 4
DT = torch.float64


def _data():
    g = torch.Generator().manual_seed(0)
    out = torch.randn(P, B, K, generator=g, dtype=DT)
    codes = torch.randint(0, K, (B,), generator=g)
    w = torch.rand(B, generator=g, dtype=DT) * 3
    return out, codes, w


def test_class_weighted_cross_entropy_is_torch_weighted_cross_entropy():
    out, codes, _ = _data()
    c = torch.tensor([0.5, 2.0, 1.0, 4.0], dtype=DT)
    got = weighted_loss(get_loss("cross_entropy"), out, codes, c[codes], {})
    for p in range(P):
        want = F.cross_entropy(out[p], codes, weight=c)  # Σ c_y l / Σ c_y
        torch.testing.assert_close(got[p], want, rtol=1e-14, atol=0)


def _per_example_reference(name, out_p, codes, target):
    if name == "cross_entropy":
        return F.cross_entropy(out_p, codes, reduction="none")
    if name == "binary_cross_entropy":
        return F.binary_cross_entropy_with_logits(out_p[:, 0], (codes % 2).to(DT), reduction="none")
    fn = {
        "mse": lambda a, b: F.mse_loss(a, b, reduction="none"),
        "mae": lambda a, b: F.l1_loss(a, b, reduction="none"),
        "huber": lambda a, b: F.huber_loss(a, b, reduction="none", delta=1.0),
    }[name]
    return fn(out_p, target).mean(dim=-1)


@pytest.mark.parametrize("name", ["cross_entropy", "binary_cross_entropy", "mse", "mae", "huber"])
def test_sample_weighted_loss_is_the_weighted_mean_of_torch_per_example_losses(name):
    out, codes, w = _data()
    spec = get_loss(name)
    if name == "binary_cross_entropy":
        out, target = out[..., :1], codes % 2
    elif spec.task == "regression":
        target = torch.randn(B, K, generator=torch.Generator().manual_seed(1), dtype=DT)
    else:
        target = codes
    got = weighted_loss(spec, out, target, w, {})
    for p in range(P):
        per = _per_example_reference(name, out[p], codes, target)
        torch.testing.assert_close(got[p], (w * per).sum() / w.sum(), rtol=1e-13, atol=0)


def test_unit_weights_are_the_plain_mean_and_zero_weights_no_nan():
    out, codes, _ = _data()
    spec = get_loss("cross_entropy")
    ones = weighted_loss(spec, out, codes, torch.ones(B, dtype=DT), {})
    torch.testing.assert_close(ones, spec.fn(out, codes), rtol=1e-14, atol=0)
    zero = weighted_loss(spec, out, codes, torch.zeros(B, dtype=DT), {})
    assert torch.equal(zero, torch.zeros(P, dtype=DT))
