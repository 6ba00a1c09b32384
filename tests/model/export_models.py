"""Trained models of every kind for the export tests (small, trained for a few epochs),
and the three ways of running an export on raw rows: the plain module, the ONNX file in
onnxruntime, the TorchScript file."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import caviar
from caviar.export import encode_rows
from caviar.model import TrainedModel


def table(n: int = 160, seed: int = 0) -> pd.DataFrame:
    """Numeric, string, bool and integer-coded columns; a three-class string label."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40.0, 12.0, n).round(1),
            "city": rng.choice(["Oslo", "Lima", "Pune", "Kyiv"], n),
            "income": rng.lognormal(10.0, 0.5, n),
            "member": rng.choice([True, False], n),
            "visits": rng.integers(0, 9, n),
        }
    )
    score = (frame.age - 40) / 12 + (frame.city == "Lima") - frame.member + 0.3 * frame.visits
    frame["label"] = np.where(score > 1.2, "high", np.where(score > 0.0, "mid", "low"))
    return frame


def train_table(tmp: Path, **sections) -> caviar.TrainRun:
    """Train MLPs on :func:`table` written as a CSV (three epochs)."""
    path = tmp / "table.csv"
    if not path.exists():
        table().to_csv(path, index=False)
    config = {
        "data": {"source": str(path), "target": "label"},
        "model": {"hidden": [12, 8]},
        "optimizer": {"lr": 0.02},
        "train": {"epochs": 3, "batch_size": 32},
    }
    for key, value in sections.items():
        config[key] = {**config.get(key, {}), **value}
    return caviar.train(config)


def raw_rows(model: TrainedModel) -> pd.DataFrame:
    """Rows the model never saw, with an unknown city in the last two."""
    frame = table(24, seed=7).drop(columns="label")
    frame.loc[22:, "city"] = "Quito"
    return frame[model.preprocessor.input_columns]


class UserNet(nn.Module):
    """A user's module: torch layers Caviar converts (BatchNorm1d, LeakyReLU, Dropout)."""

    def __init__(self, cfg: dict) -> None:
        super().__init__()
        width = int(cfg.get("width", 16))
        self.body = nn.Sequential(
            nn.Linear(4, width),
            nn.BatchNorm1d(width),
            nn.LeakyReLU(0.1),
            nn.Dropout(0.2),
        )
        self.head = nn.Linear(width, int(cfg["n_outputs"]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x) + x.sum(dim=1, keepdim=True))


def user_factory(cfg: dict) -> nn.Module:
    return UserNet(cfg)


def with_combine(model: TrainedModel, combine: str, tmp: Path) -> TrainedModel:
    """``model`` with another ensemble rule (saved, ``combine`` edited, loaded back)."""
    model.save(tmp)
    desc = json.loads((tmp / "model.json").read_text())
    (tmp / "model.json").write_text(json.dumps({**desc, "combine": combine}))
    return TrainedModel.load(tmp)


# -- running an export -----------------------------------------------------------------
def reference(model: TrainedModel, X) -> np.ndarray:
    """What Caviar predicts: probabilities, or values ``(n, K)``."""
    if model.task == "classification":
        return model.predict_proba(X)
    out = model.predict(X)
    return out.reshape(len(out), -1)


def onnx_outputs(model: TrainedModel, X, path: Path) -> np.ndarray:
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    model.export(path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["features"]
    assert isinstance(session.get_inputs()[0].shape[0], str)  # a dynamic batch dimension
    return session.run(None, {"features": encode_rows(model, X)})[0]


def torchscript_outputs(model: TrainedModel, X, path: Path) -> np.ndarray:
    model.export(path)
    with warnings.catch_warnings():  # torch 2.13 deprecates TorchScript in favour of torch.export
        warnings.simplefilter("ignore", DeprecationWarning)
        module = torch.jit.load(str(path))
    with torch.no_grad():
        return module(torch.as_tensor(encode_rows(model, X))).numpy()


def plain_outputs(model: TrainedModel, X, dtype=torch.float64) -> np.ndarray:
    module = model.to_torch(dtype)
    x = torch.as_tensor(encode_rows(model, X, dtype=np.float64), dtype=dtype)
    with torch.no_grad():
        return module(x).numpy()
