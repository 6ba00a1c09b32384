"""Exported models reproduce Caviar's predictions on raw rows: the plain module (float64,
to 1e-10), the ONNX file in onnxruntime and the TorchScript file (float32, to 1e-5), for
an MLP with categorical columns, ensembles (mean and vote), a regression, the built-in
CNN and a user's module."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from export_models import (
    UserNet,
    onnx_outputs,
    plain_outputs,
    raw_rows,
    reference,
    torchscript_outputs,
    train_table,
    user_factory,
    with_combine,
)
from sklearn.datasets import load_digits, load_iris

import caviar
from caviar.model import TrainedModel


@pytest.fixture(scope="module")
def table_run(tmp_path_factory):
    """Three MLP members with batch norm and their own leaky slopes, as an ensemble."""
    return train_table(
        tmp_path_factory.mktemp("table"),
        model={"batch_norm": True, "activation": "leaky_relu", "leaky_slope": [0.02, 0.2, 0.3]},
        ensemble={"size": 3},
    )


@pytest.fixture(scope="module")
def models(table_run, tmp_path_factory):
    """Every model kind the tests export, by name (built once per module)."""
    ensemble = table_run.best_model
    single = TrainedModel.from_population(table_run.populations[0], [1], table_run.data)
    diabetes = caviar.train(
        {
            "data": {"source": "diabetes"},
            "model": {"hidden": [8], "activation": "softplus", "softplus_beta": 2.0},
            "train": {"epochs": 3, "batch_size": 32},
        }
    ).best_model
    cnn = caviar.train(
        {
            "data": {"source": "digits", "shape": [1, 8, 8]},
            "model": {
                "kind": "cnn",
                "channels": [4, 6],
                "hidden": [8],
                "batch_norm": True,
                "activation": "leaky_relu",
                "leaky_slope": [0.05, 0.3],
                "dropout": 0.1,
            },
            "optimizer": {"name": "adam", "lr": 1e-2},
            "train": {"epochs": 2, "batch_size": 64},
            "ensemble": {"size": 2},
        }
    ).best_model
    user = caviar.train(
        {
            "data": {"source": "iris"},
            "model": {"leaky_slope": 0.3},
            "optimizer": {"lr": 1e-2},
            "train": {"epochs": 3, "batch_size": 16},
        },
        module=user_factory,
    ).best_model
    return {
        "mlp": single,
        "ensemble": ensemble,
        "vote": with_combine(ensemble, "vote", tmp_path_factory.mktemp("vote")),
        "regression": diabetes,
        "cnn": cnn,
        "user": user,
    }


def rows_for(name: str, model: TrainedModel):
    if name in ("mlp", "ensemble", "vote"):
        return raw_rows(model)
    if name == "cnn":
        return load_digits().data[:40]
    if name == "user":
        return load_iris().data[::4]
    return load_diabetes_rows()


def load_diabetes_rows() -> np.ndarray:
    from sklearn.datasets import load_diabetes

    return load_diabetes(scaled=False).data[:40]


KINDS = ["mlp", "ensemble", "vote", "regression", "cnn", "user"]


@pytest.mark.parametrize("name", KINDS)
def test_plain_module_in_float64_is_the_model(models, name):
    model = models[name]
    X = rows_for(name, model)
    np.testing.assert_allclose(plain_outputs(model, X), reference(model, X), rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", KINDS)
def test_onnx_file_in_onnxruntime_matches(models, name, tmp_path):
    model = models[name]
    X = rows_for(name, model)
    got = onnx_outputs(model, X, tmp_path / "m.onnx")
    np.testing.assert_allclose(got, reference(model, X), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", KINDS)
def test_torchscript_file_matches(models, name, tmp_path):
    model = models[name]
    X = rows_for(name, model)
    got = torchscript_outputs(model, X, tmp_path / "m.pt")
    np.testing.assert_allclose(got, reference(model, X), rtol=1e-5, atol=1e-5)


def test_the_models_under_test_are_what_their_names_say(models):
    assert models["mlp"].n_members == 1 and models["mlp"].batch_norm
    assert models["ensemble"].n_members == 3 and models["ensemble"].combine == "mean"
    assert models["vote"].combine == "vote" and models["regression"].task == "regression"
    assert models["cnn"].network["kind"] == "module" and models["cnn"].n_members == 2
    assert len(set(models["cnn"].leaky_slopes)) == 2  # each member its own slope
    assert isinstance(models["user"]._net.skeleton, UserNet)
    # the rows hold strings, bools and an unknown category: the graph sees the raw table
    rows = raw_rows(models["mlp"])
    assert not pd.api.types.is_numeric_dtype(rows.city) and "Quito" in set(rows.city)


def test_unknown_category_is_encoded_as_no_category(models):
    """An unseen city: a code with no indicator in the graph's input (all-zero
    indicators inside), the same probabilities as Caviar's preprocessing gives."""
    from caviar.export import encode_rows

    model = models["mlp"]
    rows = raw_rows(model)
    codes = encode_rows(model, rows)
    city = model.preprocessor.input_columns.index("city")
    spec = model.preprocessor.columns[city]
    width = getattr(spec, "width", len(spec.categories))
    assert not np.isin(codes[22:, city], np.arange(width)).any()
    assert np.isin(codes[:22, city], np.arange(width)).all()
    np.testing.assert_allclose(
        plain_outputs(model, rows.iloc[22:]), model.predict_proba(rows.iloc[22:]), atol=1e-10
    )


def test_mlp_state_dict_loads_into_fresh_torch_layers(models):
    """``nn.Linear`` layout: the exported member loads into layers built from the sizes
    alone and computes the same; its first weight is Caviar's stored weight transposed."""
    model = models["mlp"]
    exported = model.to_torch(torch.float64)
    sizes, slope = model.network["sizes"], model.leaky_slopes[0]
    fresh = torch.nn.Sequential(
        torch.nn.Linear(sizes[0], sizes[1], bias=False),
        torch.nn.BatchNorm1d(sizes[1]),
        torch.nn.LeakyReLU(slope),
        torch.nn.Linear(sizes[1], sizes[2], bias=False),
        torch.nn.BatchNorm1d(sizes[2]),
        torch.nn.LeakyReLU(slope),
        torch.nn.Linear(sizes[2], sizes[3]),
    ).double()
    fresh.load_state_dict(exported.networks[0].state_dict(), strict=True)
    fresh.eval()
    np.testing.assert_array_equal(
        fresh[0].weight.detach().numpy(), model.member_tensors[0]["layers.0.weight"].T.numpy()
    )
    h = torch.randn(5, sizes[0], dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(fresh(h), exported.networks[0](h), rtol=0, atol=0)


def test_user_module_state_dict_loads_into_a_fresh_instance(models):
    model = models["user"]
    exported = model.to_torch(torch.float64)
    fresh = user_factory({"n_outputs": 3}).double().eval()
    fresh.load_state_dict(exported.networks[0].state_dict(), strict=True)
    x = torch.randn(6, 4, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(fresh(x), exported.networks[0](x), rtol=0, atol=0)


def test_exported_modules_hold_torch_layers_only(models):
    """No Caviar layer inside a member: the population-aware layers are back to torch's
    own, each with the member's values (its leaky slope)."""
    for name in ("cnn", "user"):
        model = models[name]
        exported = model.to_torch()
        for net, slope in zip(exported.networks, model.leaky_slopes, strict=True):
            classes = {type(m) for m in net.modules()}
            foreign = {c for c in classes if not c.__module__.startswith("torch.nn")}
            assert foreign <= {UserNet}, foreign
            slopes = {m.negative_slope for m in net.modules() if type(m) is torch.nn.LeakyReLU}
            assert slopes == ({slope} if name == "cnn" else {0.1})
        assert all(isinstance(v, torch.Tensor) for v in exported.state_dict().values())
