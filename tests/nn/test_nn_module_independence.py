"""Members of a generic module population do not affect each other (float64): a member
with its own learning rate, L2 and dropout rate follows the same trajectory alone as in a
population, and a diverging member leaves the others bitwise unchanged."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import caviar.nn as cnn
from caviar.config import expand_configs
from caviar.data import prepare_arrays
from caviar.nn.factory import register
from caviar.training.trainer import PopulationTrainer


def dropout_cnn(cfg):
    c, length = cfg["input_shape"]
    return nn.Sequential(
        nn.Conv1d(c, 6, 3, padding=1),
        cnn.LeakyReLU(None),  # each member's own model.leaky_slope
        nn.Flatten(),
        cnn.Dropout(),  # each member's own model.dropout
        nn.Linear(6 * length, cfg["n_outputs"]),
    )


@pytest.fixture(scope="module")
def signals():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(96, 2, 10))
    y = (X[:, 0].sum(axis=1) > 0).astype(int)
    return prepare_arrays(X, y, seed=1)


def member_configs(members):
    path = register(dropout_cnn)
    return [
        expand_configs(
            {
                "data": {"source": "arrays"},
                "model": {
                    "kind": "module",
                    "factory": path,
                    "dropout": m["dropout"],
                    "leaky_slope": m["slope"],
                },
                "optimizer": {"name": "adam", "lr": m["lr"]},
                "penalty": {"l2_kernel": m["l2"]},
                "train": {
                    "epochs": 4,
                    "batch_size": 16,
                    "dtype": "float64",
                    "seed": m["seed"],
                    "patience": None,
                },
            }
        )[0]
        for m in members
    ]


MEMBERS = [
    {"lr": 1e-2, "l2": 0.0, "dropout": 0.0, "slope": 0.01, "seed": 0},
    {"lr": 3e-3, "l2": 1e-3, "dropout": 0.3, "slope": 0.2, "seed": 1},
    {"lr": 3e-2, "l2": 1e-2, "dropout": 0.6, "slope": 0.05, "seed": 2},
    {"lr": 1e-3, "l2": 0.0, "dropout": 0.1, "slope": 0.1, "seed": 3},
]


def train(configs, data):
    snaps: list[torch.Tensor] = []
    t = PopulationTrainer(
        configs,
        data,
        restore_best=False,
        callbacks=[lambda tr: snaps.append(tr.model.flat.detach().clone())],
    )
    result = t.run()
    return torch.stack(snaps), result, t


def test_each_member_alone_equals_itself_in_the_population(signals):
    together, result, _ = train(member_configs(MEMBERS), signals)
    for p, m in enumerate(MEMBERS):
        alone, alone_result, _ = train(member_configs([m]), signals)
        torch.testing.assert_close(together[:, p], alone[:, 0], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(
            result.members[p].history["train_loss"],
            alone_result.members[0].history["train_loss"],
            rtol=1e-10,
        )


def test_dropout_rates_differ_between_members(signals):
    """The rates are really per member: a member with dropout 0.6 trains differently from
    the same member with dropout 0 (so the test above compares something)."""
    a, _, _ = train(member_configs([MEMBERS[2]]), signals)
    b, _, _ = train(member_configs([{**MEMBERS[2], "dropout": 0.0}]), signals)
    assert not torch.allclose(a[-1], b[-1])


def test_a_diverging_member_leaves_the_others_bitwise_unchanged(signals):
    sane = member_configs(MEMBERS)
    wild = member_configs([MEMBERS[0], {**MEMBERS[1], "lr": 1e200}, *MEMBERS[2:]])
    ok, _, _ = train(sane, signals)
    bad, result, trainer = train(wild, signals)
    assert result.members[1].status == "diverged"
    assert bool(trainer.diverged[1]) and not bool(trainer.diverged[[0, 2, 3]].any())
    for p in (0, 2, 3):
        assert torch.equal(ok[:, p], bad[:, p])
    assert all(math.isfinite(v) for p in (0, 2, 3) for v in result.members[p].history["train_loss"])
