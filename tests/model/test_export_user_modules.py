"""User modules TorchScript cannot compile: traced instead, and checked on other batch
sizes, so a trace that baked in the batch size is refused rather than written."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from export_models import onnx_outputs, reference, torchscript_outputs
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
