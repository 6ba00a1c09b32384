"""Recurrent layers in a population (float64): a population of torch ``nn.GRU``/``nn.LSTM``
modules computes each member's own module (outputs and gradients), and a member with
recurrent layers and its own dropout rate, learning rate and seed follows the same
trajectory alone as in a population (validation-loss curves to 1e-10)."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from torch import nn

import caviar.nn as cnn
from caviar.config import expand_configs
from caviar.data import prepare_arrays
from caviar.nn.factory import register
from caviar.nn.module import PopulationModule
from caviar.training.trainer import train_population


class SequenceClassifier(nn.Module):
    """A recurrent layer over the time axis of ``(B, C, L)``, its last output, dropout, a
    linear layer to ``K`` outputs."""

    def __init__(self, rnn: nn.Module, width: int, k: int) -> None:
        super().__init__()
        self.rnn, self.drop, self.out = rnn, cnn.Dropout(), nn.Linear(width, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x.transpose(1, 2))
        return self.out(self.drop(out[:, -1]))


def torch_gru(cfg):
    c, _ = cfg["input_shape"]
    gru = nn.GRU(c, 5, num_layers=2, batch_first=True, bidirectional=True)
    return SequenceClassifier(gru, 10, cfg["n_outputs"])


def torch_lstm(cfg):
    c, _ = cfg["input_shape"]
    lstm = nn.LSTM(c, 6, batch_first=True, proj_size=3)
    return SequenceClassifier(lstm, 3, cfg["n_outputs"])


def member_rate_gru(cfg):
    """A two-layer GRU whose inter-layer dropout is each member's model.dropout."""
    c, _ = cfg["input_shape"]
    return SequenceClassifier(
        cnn.GRU(c, 6, num_layers=2, batch_first=True, dropout=None), 6, cfg["n_outputs"]
    )


def member_rate_lstm(cfg):
    c, _ = cfg["input_shape"]
    lstm = cnn.LSTM(c, 5, num_layers=2, batch_first=True, dropout=None, bidirectional=True)
    return SequenceClassifier(lstm, 10, cfg["n_outputs"])


@pytest.fixture(scope="module")
def signals():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(80, 2, 7))
    y = (X[:, 0, :3].sum(axis=1) > X[:, 1, 4:].sum(axis=1)).astype(int)
    return prepare_arrays(X, y, seed=2)


@pytest.mark.parametrize("factory", [torch_gru, torch_lstm])
def test_population_computes_each_members_torch_module(factory):
    cfg = {"input_shape": [2, 7], "n_outputs": 3}
    members = []
    for seed in range(3):
        torch.manual_seed(seed)
        members.append(factory(cfg).double())
    refs = copy.deepcopy(members)
    pop = PopulationModule(members, (2, 7), dtype=torch.float64)
    x = torch.randn(4, 14, dtype=torch.float64)
    out = pop(x)
    assert out.shape == (3, 4, 3)
    weights = torch.randn(3, 4, 3, dtype=torch.float64)
    (out * weights).sum().backward()
    for p, ref in enumerate(refs):
        ref_out = ref(x.view(4, 2, 7))
        torch.testing.assert_close(out[p], ref_out, rtol=1e-10, atol=1e-12)
        (ref_out * weights[p]).sum().backward()
        grads = torch.cat([q.grad.reshape(-1) for q in ref.parameters()])
        torch.testing.assert_close(pop.flat.grad[p], grads, rtol=1e-10, atol=1e-12)


MEMBERS = [
    {"lr": 1e-2, "dropout": 0.0, "seed": 0},
    {"lr": 3e-3, "dropout": 0.3, "seed": 1},
    {"lr": 2e-2, "dropout": 0.5, "seed": 2},
]


def member_configs(factory, members):
    path = register(factory)
    return [
        expand_configs(
            {
                "data": {"source": "arrays"},
                "model": {"kind": "module", "factory": path, "dropout": m["dropout"]},
                "optimizer": {"name": "adam", "lr": m["lr"]},
                "train": {
                    "epochs": 3,
                    "batch_size": 16,
                    "dtype": "float64",
                    "seed": m["seed"],
                    "patience": None,
                },
            }
        )[0]
        for m in members
    ]


@pytest.mark.parametrize("factory", [member_rate_gru, member_rate_lstm])
def test_member_with_recurrent_layers_equals_itself_alone(signals, factory):
    together = train_population(member_configs(factory, MEMBERS), signals)
    for p, m in enumerate(MEMBERS):
        alone = train_population(member_configs(factory, [m]), signals)
        torch.testing.assert_close(
            together.model.flat[p], alone.model.flat[0], rtol=1e-10, atol=1e-12
        )
        for key in ("train_loss", "val_loss"):
            np.testing.assert_allclose(
                together.members[p].history[key], alone.members[0].history[key], rtol=1e-10
            )
    # the dropout rates are really per member: rate 0.5 trains differently from rate 0
    no_dropout = train_population(
        member_configs(factory, [{**MEMBERS[2], "dropout": 0.0}]), signals
    )
    assert not np.allclose(
        together.members[2].history["val_loss"], no_dropout.members[0].history["val_loss"]
    )
