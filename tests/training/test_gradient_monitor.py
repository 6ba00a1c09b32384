"""Gradient diagnostics on the training path (:ref:`bg-vanishing-gradients`): the
monitor's rules by hand, per member in a population, and the gradient check of
nn/backprop.py."""

import math

import numpy as np
import pytest
import torch

import caviar.diagnose.backprop_check as bc
from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.diagnose.report import CHECK_ROWS, _float64, _objective_at
from caviar.nn import PopulationMLP
from caviar.training.gradient_monitor import EXPLODING, GradientMonitor
from caviar.training.trainer import train_population


@pytest.fixture(scope="module")
def iris():
    return prepare_data("iris", seed=1)


def test_rules_by_hand_on_given_gradients():
    model = PopulationMLP([2, 3, 3, 1], 3, dtype=torch.float64)
    monitor = GradientMonitor(model)
    alive = torch.ones(3, dtype=torch.bool)
    for t in range(3):
        g = model.weights(model.flat.grad)
        g[0].fill_(1.0)  # member 0: steady
        g[2].fill_(1.0)
        g[0][1].fill_(1e-5)  # member 1: first layer 1e-5 of the last
        g[2][1].fill_(1.0)
        g[1][2].fill_(1.0 if t < 2 else 2 * EXPLODING)  # member 2: layer 1 blows up at t=2
        monitor.record(alive)
    steady, vanish, explode = (monitor.member_report(p) for p in range(3))
    # ||ones (2, 3)|| / ||ones (3, 1)|| = sqrt(6 / 3)
    assert steady["warnings"] == [] and steady["first_to_last"] == pytest.approx(math.sqrt(2))
    # ||g|| of a (2, 3) block of 1e-5 against a (3, 1) block of ones
    ratio = math.sqrt(6) * 1e-5 / math.sqrt(3)
    assert vanish["first_to_last"] == pytest.approx(ratio, rel=1e-12)
    assert len(vanish["warnings"]) == 1 and "vanishing" in vanish["warnings"][0]
    assert len(explode["warnings"]) == 1 and "layer 1" in explode["warnings"][0]
    assert explode["per_epoch"][1] == pytest.approx([3.0, 3.0, 3 * 2 * EXPLODING])


def test_monitor_flags_members_on_their_own_in_a_population(iris):
    configs = expand_configs(
        {
            "data": {"source": "iris"},
            "model": {"hidden": [6, 6, 6, 6, 6], "activation": "sigmoid", "init": "glorot_uniform"},
            "optimizer": {"name": "sgd", "lr": [0.1, 0.3]},
            "train": {"epochs": 4, "patience": None, "dtype": "float64"},
        }
    )
    together = train_population(configs, iris)
    sigmoid = together.members[0]
    for m in together.members:
        assert any("vanishing" in w for w in m.diagnostics["warnings"])
    shallow = expand_configs(
        {"data": {"source": "iris"}, "model": {"hidden": [8]},
         "optimizer": {"name": "sgd", "lr": [0.05, 1e12]}, "train": {"epochs": 4}}
    )  # fmt: skip
    sane, diverged = train_population(shallow, iris).members
    assert diverged.status == "diverged" and sane.diagnostics["warnings"] == []
    assert any("exploding" in w for w in diverged.diagnostics["warnings"])
    alone = train_population(configs[:1], iris).members[0]
    np.testing.assert_allclose(
        alone.diagnostics["gradients"]["per_epoch"],
        sigmoid.diagnostics["gradients"]["per_epoch"],
        rtol=1e-9,
    )
    # a relu network of the same depth is not flagged
    relu = configs[0].model_copy(deep=True)
    relu.model.activation = "relu"
    assert train_population([relu], iris).members[0].diagnostics["warnings"] == []


@pytest.mark.parametrize("loss", ["cross_entropy", "binary_cross_entropy"])
def test_gradient_check_of_the_training_path_passes_and_can_fail(iris, loss, monkeypatch):
    (cfg,) = expand_configs(
        {"data": {"source": "iris"}, "model": {"hidden": [5, 4], "activation": "tanh"},
         "loss": {"name": loss}, "penalty": {"l2_kernel": 1e-3, "l1_activity": 1e-3}}
    )  # fmt: skip
    model, f = _objective_at(cfg, iris, None, CHECK_ROWS)
    checks = bc.backprop_check(_float64(cfg, None), iris, model, f, CHECK_ROWS)
    assert all(c.ok for c in checks) and max(c.max_rel_error for c in checks) < 1e-6
    # a 1% error in one layer of the hand-written gradient is caught
    real = bc.loss_and_gradient

    def wrong(trainer, xb, yb):
        out = real(trainer, xb, yb)
        trainer.model.weights(trainer.model.flat.grad)[0].mul_(1.01)
        return out

    monkeypatch.setattr(bc, "loss_and_gradient", wrong)
    checks = bc.backprop_check(_float64(cfg, None), iris, model, f, CHECK_ROWS)
    assert [c.ok for c in checks] == [False, True, True, True, True, True]


def test_a_zero_first_epoch_norm_is_no_exploding_reference():
    """A layer whose first recorded gradient is exactly 0 (dead units, zero init) and
    then becomes an ordinary 0.5 is not 'exploding'; growth past 1000x the first nonzero
    norm still is."""
    model = PopulationMLP([2, 3, 1], 2, dtype=torch.float64)
    monitor = GradientMonitor(model)
    alive = torch.ones(2, dtype=torch.bool)
    for t in range(4):
        g = model.weights(model.flat.grad)
        g[0].fill_(1.0)
        g[1][0].fill_(0.0 if t == 0 else 0.5)  # member 0: 0, then steady
        g[1][1].fill_([0.0, 1.0, 1.0, 2 * EXPLODING][t])  # member 1: 0, 1, 1, 2000
        monitor.record(alive)
    steady, explode = (monitor.member_report(p) for p in range(2))
    assert steady["warnings"] == []
    assert len(explode["warnings"]) == 1 and "layer 1" in explode["warnings"][0]
    assert "first nonzero epoch 1.73" in explode["warnings"][0]  # ||ones (3, 1)|| = sqrt 3
