"""elu, gelu, silu and softplus against torch.nn.functional in float64: values and
derivatives, each member with its own parameter (ELU alpha, softplus beta)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import caviar
from caviar.config import validate_config
from caviar.data import prepare_data
from caviar.nn.activations import activate

DT = torch.float64
PARAMS = torch.tensor([0.5, 1.0, 2.0, 7.0], dtype=DT)  # per member: > 0


def _z():
    g = torch.Generator().manual_seed(0)
    z = 6 * torch.randn(4, 13, 5, generator=g, dtype=DT)
    z[:, 0, 0] = 0.0  # the kink of ELU
    z[:, 1, 0] = 30.0  # softplus's linear region for every beta
    z[:, 2, 0] = -40.0
    return z


def reference(name, z_p, param):
    if name == "elu":
        return F.elu(z_p, alpha=float(param))
    if name == "softplus":
        return F.softplus(z_p, beta=float(param))
    return {"gelu": F.gelu, "silu": F.silu}[name](z_p)


@pytest.mark.parametrize("name", ["elu", "gelu", "silu", "softplus"])
def test_values_and_derivatives_match_torch_per_member(name):
    z = _z().requires_grad_(True)
    a = activate(name, z, PARAMS)
    (grad,) = torch.autograd.grad(a.sum(), z)
    for p in range(4):
        zp = z.detach()[p].clone().requires_grad_(True)
        want = reference(name, zp, PARAMS[p])
        (want_grad,) = torch.autograd.grad(want.sum(), zp)
        torch.testing.assert_close(a.detach()[p], want.detach(), rtol=1e-14, atol=1e-15)
        torch.testing.assert_close(grad[p], want_grad, rtol=1e-13, atol=1e-15)
    assert torch.isfinite(grad).all()


@pytest.mark.parametrize("name", ["elu", "softplus"])
def test_default_parameter_is_torch_default(name):
    z = _z()
    torch.testing.assert_close(activate(name, z), reference(name, z, 1.0), rtol=1e-14, atol=0)


def _configs(activation, field, values):
    base = {
        "data": {"source": "iris"},
        "model": {"hidden": [6], "activation": activation},
        "optimizer": {"name": "adam", "lr": 0.02},
        "train": {"epochs": 4, "batch_size": 16, "dtype": "float64"},
    }
    out = []
    for v in values:
        cfg = validate_config(base)
        if field:
            setattr(cfg.model, field, v)
        out.append(cfg)
    return out


@pytest.mark.parametrize(
    ("activation", "field"),
    [("elu", "elu_alpha"), ("softplus", "softplus_beta"), ("gelu", None), ("silu", None)],
)
def test_members_with_their_own_parameter_train_as_alone_and_predict_as_saved(
    activation, field, tmp_path
):
    data = prepare_data("iris", seed=0)
    configs = _configs(activation, field, [0.5, 1.0, 3.0])
    together = caviar.train(configs, data=data)
    for m in together.members:
        alone = caviar.train([configs[m.index]], data=data)
        np.testing.assert_allclose(
            m.history["val_loss"], alone.members[0].history["val_loss"], rtol=1e-10
        )
    model = together.best_model
    model.save(tmp_path / "m")
    loaded = caviar.TrainedModel.load(tmp_path / "m")
    np.testing.assert_allclose(
        loaded.predict_proba(data.X_val, preprocessed=True),
        model.predict_proba(data.X_val, preprocessed=True),
        rtol=1e-12,
    )
    assert model.configs[0]["model"]["activation"] == activation
