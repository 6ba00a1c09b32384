"""User modules beyond plain layers: attention, Transformer, Bilinear and PReLU layers
(Caviar's batchable rewrites of torch's, kept in the export); modules TorchScript cannot
compile (traced instead, and checked on other batch sizes, so a trace that baked in the
batch size is refused rather than written)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from export_models import onnx_outputs, plain_outputs, reference, torchscript_outputs
from sklearn.datasets import load_iris
from torch import nn

import caviar
from caviar.errors import CaviarError


class LambdaNet(nn.Module):
    """Holds its activation as a lambda: ``torch.jit.script`` cannot compile it."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.hidden, self.out = nn.Linear(4, 8), nn.Linear(8, int(cfg["n_outputs"]))
        self.act = lambda t: torch.tanh(t) * 1.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.hidden(x)))


class BakedBatchNet(nn.Module):
    """Adds a numpy constant of the batch's length: a trace bakes that length in."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.out = nn.Linear(4, int(cfg["n_outputs"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ones = torch.as_tensor(np.ones((len(x), 1)), dtype=x.dtype, device=x.device)
        return self.out(x) + ones


class AttentionNet(nn.Module):
    """The four features as a sequence of four tokens through a Transformer encoder, then
    a bilinear map and a PReLU."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        self.embed = nn.Linear(1, 8)
        layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.mix, self.act = nn.Bilinear(8, 8, 4), nn.PReLU()
        self.head = nn.Linear(4, int(cfg["n_outputs"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.encoder(self.embed(x.unsqueeze(-1))).mean(dim=1)
        return self.head(self.act(self.mix(h, h)))


def train(factory) -> caviar.TrainedModel:
    return caviar.train(
        {"data": {"source": "iris"}, "train": {"epochs": 2, "batch_size": 16}},
        module=factory,
    ).best_model


def test_an_unscriptable_module_is_traced_and_matches(tmp_path):
    model = train(LambdaNet)
    with pytest.raises(Exception):  # noqa: B017 - the premise: TorchScript refuses it
        torch.jit.script(model.to_torch())
    X = load_iris().data[::5]
    expected = reference(model, X)
    np.testing.assert_allclose(
        torchscript_outputs(model, X, tmp_path / "m.pt"), expected, rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        onnx_outputs(model, X, tmp_path / "m.onnx"), expected, rtol=1e-5, atol=1e-5
    )


def test_a_trace_with_a_baked_batch_size_is_refused(tmp_path):
    model = train(BakedBatchNet)
    with pytest.raises(CaviarError) as err:
        model.export(tmp_path / "m.pt")
    assert "does not reproduce the model" in str(err.value) and "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []  # nothing written, no temporary file left
    pytest.importorskip("onnxscript")
    with pytest.raises(CaviarError) as err:  # torch.export: refused, or caught by the check
        model.export(tmp_path / "m.onnx")
    assert "\n" not in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_attention_and_transformer_layers_export(tmp_path):
    model = train(AttentionNet)
    kinds = {type(m).__module__ for m in model._net.skeleton.modules()}
    assert "caviar.nn.attention" in kinds  # the premise: Caviar's rewrites are inside
    X = load_iris().data[::5]
    expected = reference(model, X)
    np.testing.assert_allclose(plain_outputs(model, X), expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(
        torchscript_outputs(model, X, tmp_path / "m.pt"), expected, rtol=1e-5, atol=1e-5
    )
    np.testing.assert_allclose(
        onnx_outputs(model, X, tmp_path / "m.onnx"), expected, rtol=1e-5, atol=1e-5
    )
    dropouts = [m for m in model.to_torch().modules() if "Dropout" in type(m).__name__]
    assert dropouts and all(type(m) is nn.Dropout for m in dropouts)  # plain, off in eval
