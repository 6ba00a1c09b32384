"""The loss registry, predict_proba, and the one-line CaviarError messages."""

from __future__ import annotations

import pytest
import torch

from caviar.errors import CaviarError
from caviar.losses import (
    LOSSES,
    LossSpec,
    binary_cross_entropy,
    cross_entropy,
    get_loss,
    huber,
    kl_divergence,
    l1,
    l2,
    multiclass_hinge,
    squared_hinge,
)

DT = torch.float64

NAMES = {
    "l1",
    "mae",
    "l2",
    "mse",
    "huber",
    "log_cosh",
    "cross_entropy",
    "binary_cross_entropy",
    "kl_divergence",
    "hinge",
    "squared_hinge",
}


def _one_line_error(excinfo) -> str:
    msg = str(excinfo.value)
    assert "\n" not in msg and msg
    return msg


def test_registry_names_and_fields():
    assert set(LOSSES) == NAMES
    assert get_loss("mae") is get_loss("l1") and get_loss("mse") is get_loss("l2")
    assert get_loss("l1").fn is l1 and get_loss("l2").fn is l2
    assert (
        get_loss("hinge").fn is multiclass_hinge and get_loss("squared_hinge").fn is squared_hinge
    )
    for name, spec in LOSSES.items():
        assert isinstance(spec, LossSpec)
        assert spec.task in ("regression", "classification")
        assert (spec.proba is None) == (spec.task == "regression"), name
    assert dict(get_loss("huber").hypers) == {"delta": 1.0}
    assert dict(get_loss("cross_entropy").hypers) == {"label_smoothing": 0.0}
    assert dict(get_loss("kl_divergence").hypers) == {"label_smoothing": 0.0}
    for name in ("l1", "l2", "log_cosh", "binary_cross_entropy", "hinge", "squared_hinge"):
        assert dict(get_loss(name).hypers) == {}
    assert {n for n, s in LOSSES.items() if s.task == "regression"} == {
        "l1",
        "mae",
        "l2",
        "mse",
        "huber",
        "log_cosh",
    }
    assert get_loss(" Cross_Entropy ") is get_loss("cross_entropy")


def test_n_outputs():
    assert get_loss("binary_cross_entropy").n_outputs(2) == 1
    assert get_loss("binary_cross_entropy").n_outputs(5) == 5
    for name in ("cross_entropy", "kl_divergence", "hinge", "squared_hinge"):
        assert get_loss(name).n_outputs(2) == 2
        assert get_loss(name).n_outputs(7) == 7
    assert get_loss("l2").n_outputs(3) == 3
    with pytest.raises(CaviarError) as e:
        get_loss("cross_entropy").n_outputs(1)
    _one_line_error(e)


def test_predict_proba():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 4, generator=g, dtype=DT)
    for name in ("cross_entropy", "kl_divergence", "hinge", "squared_hinge"):
        torch.testing.assert_close(get_loss(name).predict_proba(x), torch.softmax(x, -1))
    bce = get_loss("binary_cross_entropy")
    one = x[..., :1]
    p = bce.predict_proba(one)
    assert p.shape == (3, 5, 2)
    torch.testing.assert_close(p[..., 1], torch.sigmoid(one[..., 0]))
    torch.testing.assert_close(p[..., 0], 1 - torch.sigmoid(one[..., 0]))
    s = torch.sigmoid(x)
    torch.testing.assert_close(bce.predict_proba(x), s / s.sum(-1, keepdim=True))
    with pytest.raises(CaviarError):
        get_loss("l2").predict_proba(x)
    with pytest.raises(CaviarError):
        bce.predict_proba(x[0])


def test_spec_call_fills_defaults_and_rejects_unknown_hypers():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(2, 4, 1, generator=g, dtype=DT), torch.randn(4, generator=g, dtype=DT)
    torch.testing.assert_close(get_loss("huber")(x, y), huber(x, y, 1.0))
    torch.testing.assert_close(get_loss("huber")(x, y, delta=0.3), huber(x, y, 0.3))
    assert get_loss("huber")(x, y, reduction="none").shape == (2, 4)
    with pytest.raises(CaviarError) as e:
        get_loss("l1")(x, y, delta=1.0)
    assert "delta" in _one_line_error(e)


def test_unknown_loss():
    with pytest.raises(CaviarError) as e:
        get_loss("foo")
    msg = _one_line_error(e)
    assert msg.startswith("unknown loss 'foo' (choose from: ")
    for name in NAMES:
        assert name in msg


def test_negative_or_nan_delta():
    x, y = torch.zeros(4, 2, 1, dtype=DT), torch.zeros(2, dtype=DT)
    with pytest.raises(CaviarError) as e:
        huber(x, y, torch.tensor([1.0, 0.5, -0.2, 1.0], dtype=DT))
    msg = _one_line_error(e)
    assert "delta" in msg and "-0.2" in msg and "member 2" in msg
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(CaviarError) as e:
            huber(x, y, bad)
        _one_line_error(e)
    with pytest.raises(CaviarError) as e:
        huber(x, y, torch.ones(3))  # wrong population size
    _one_line_error(e)


@pytest.mark.parametrize("loss", [cross_entropy, kl_divergence])
def test_label_smoothing_out_of_range(loss):
    x, y = torch.zeros(4, 2, 3, dtype=DT), torch.tensor([0, 1])
    with pytest.raises(CaviarError) as e:
        loss(x, y, torch.tensor([0.1, 0.0, 0.2, 1.0], dtype=DT))
    msg = _one_line_error(e)
    assert "label_smoothing" in msg and "member 3" in msg and "1" in msg
    for bad in (1.0, 1.5, -0.1):
        with pytest.raises(CaviarError) as e:
            loss(x, y, bad)
        _one_line_error(e)


def test_bad_targets_and_shapes():
    x = torch.zeros(2, 3, 4, dtype=DT)
    cases = [
        lambda: cross_entropy(x, torch.tensor([0, 4, 1])),  # code out of range
        lambda: multiclass_hinge(x, torch.tensor([0.0, 1.0, 2.0])),  # float codes
        lambda: binary_cross_entropy(x[..., :1], torch.tensor([0, 2, 1])),  # binary code 2
        lambda: cross_entropy(x[..., :1], torch.tensor([0, 0, 0])),  # one class
        lambda: l2(x, torch.zeros(5, 4)),  # wrong batch
        lambda: l2(x[0], torch.zeros(3, 4)),  # no member axis
        lambda: l1(x, torch.zeros(3, 4), reduction="avg"),  # unknown reduction
    ]
    for case in cases:
        with pytest.raises(CaviarError) as e:
            case()
        _one_line_error(e)
    with pytest.raises(CaviarError) as e:
        cross_entropy(x, torch.tensor([0, 4, 1]))
    assert "4" in _one_line_error(e) and "example 1" in str(e.value)
