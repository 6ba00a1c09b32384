"""Sanity checks at initialization (:ref:`bg-initialization`: log k, symmetric weights)."""

import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.training.trainer import PopulationTrainer, to_tensors, train_population


@pytest.fixture(scope="module")
def wine():
    return prepare_data("wine", seed=0)


def cfgs(**model):
    return expand_configs(
        {
            "data": {"source": "wine"},
            "model": {"hidden": [6], **model},
            "optimizer": {"name": "sgd", "lr": 0.1},
            "train": {"epochs": 15, "batch_size": 16, "patience": None, "dtype": "float64"},
        }
    )


def test_initial_loss_against_log_k_and_the_prior_by_hand(wine):
    t = to_tensors(wine, torch.float64, "cpu")
    # default output init, small weights: close to log k = log 3, not flagged
    small = PopulationTrainer(cfgs(output_init="default", init="normal", init_scale=0.01), wine)
    c = small.init_check[0]
    assert c["log_k"] == pytest.approx(math.log(3)) and c["reference_loss"] == c["log_k"]
    with torch.no_grad():
        ref = F.cross_entropy(small.model(t.x_train)[0], t.y_train)
    assert c["initial_loss"] == pytest.approx(float(ref), rel=1e-12)
    assert abs(c["initial_loss"] - math.log(3)) < 0.01 and c["warnings"] == []
    # prior output init: the reference is the entropy of the class frequencies
    prior = PopulationTrainer(cfgs(), wine).init_check[0]
    p = np.bincount(wine.y_train) / len(wine.y_train)
    assert prior["reference_loss"] == pytest.approx(float(-(p * np.log(p)).sum()), rel=1e-9)
    assert prior["initial_loss"] == pytest.approx(prior["reference_loss"], rel=1e-12)
    # large random output weights: flagged against log k
    big = PopulationTrainer(cfgs(output_init="default", init="normal", init_scale=3.0), wine)
    (text,) = big.init_check[0]["warnings"]
    assert "vs log k = 1.099" in text and "too large" in text


def test_symmetric_initialization_is_warned_about_and_keeps_hidden_units_identical(wine):
    with pytest.warns(UserWarning, match="symmetric initialization"):
        result = train_population(cfgs(init="zeros", activation="tanh", hidden=[6, 5]), wine)
    member = result.members[0]
    assert any("symmetric initialization" in w for w in member.diagnostics["warnings"])
    w1, w2, _ = result.model.weights()
    b1, b2, _ = result.model.biases()
    # training moved nothing apart: every hidden unit equals the first, layer by layer
    for w, b in ((w1, b1), (w2, b2)):
        torch.testing.assert_close(w[0], w[0, :, :1].expand_as(w[0]), rtol=0, atol=0)
        torch.testing.assert_close(b[0], b[0, :, :1].expand_as(b[0]), rtol=0, atol=0)
    # the same with non-zero equal weights: units that start the same move, but
    # together -- each hidden layer stays one unit repeated
    trainer = PopulationTrainer(cfgs(activation="tanh", hidden=[6, 5], output_init="default"), wine)
    gen = torch.Generator().manual_seed(0)
    w1, w2, w3 = trainer.model.weights(trainer.model.flat)
    with torch.no_grad():  # units equal: incoming columns equal, outgoing rows equal
        w1[0].copy_(torch.randn(w1.shape[1], 1, generator=gen).double().expand_as(w1[0]))
        w2[0].fill_(0.3)
        w3[0].copy_(torch.randn(1, w3.shape[2], generator=gen).double().expand_as(w3[0]))
        for b in trainer.model.biases(trainer.model.flat)[:2]:
            b.fill_(0.1)
    start = trainer.model.flat.detach().clone()
    symmetric = trainer.run()
    assert float((symmetric.model.flat - start).abs().max()) > 1e-2  # it trained
    w1, w2, w3 = (w[0].detach() for w in symmetric.model.weights())
    for w in (w1, w2):  # every unit's incoming weights equal those of unit 0
        torch.testing.assert_close(w, w[:, :1].expand_as(w), rtol=1e-12, atol=1e-12)
    for w in (w2, w3):  # and so do its outgoing weights
        torch.testing.assert_close(w, w[:1, :].expand_as(w), rtol=1e-12, atol=1e-12)
    # a random initialization breaks the symmetry
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rand = train_population(cfgs(activation="tanh", hidden=[6, 5]), wine)
    w1 = rand.model.weights()[0][0].detach()
    assert float((w1 - w1[:, :1]).abs().max()) > 1e-3
    assert rand.members[0].diagnostics["warnings"] == []
