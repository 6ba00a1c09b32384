"""Trainer behaviour: divergence, early stopping, batch sizes, learning."""

import numpy as np
import pytest
import torch

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.training.evaluate import evaluate
from caviar.training.trainer import to_tensors, train_population


@pytest.fixture(scope="module")
def iris():
    return prepare_data("iris", seed=1)


def cfgs(**sections):
    raw = {
        "data": {"source": "iris"},
        "model": {"hidden": [8]},
        "train": {"epochs": 20, "batch_size": 16, "patience": None, "dtype": "float64"},
    }
    for k, v in sections.items():
        raw.setdefault(k, {}).update(v)
    return expand_configs(raw)


def test_population_learns_iris(iris):
    result = train_population(cfgs(optimizer={"lr": [1e-2, 3e-2]}, train={"epochs": 60}), iris)
    assert max(m.val_score for m in result.members) >= 0.9
    for m in result.members:
        assert m.history["train_loss"][-1] < m.history["train_loss"][0]


def test_diverged_member_is_frozen_and_others_unaffected(iris):
    sane = cfgs(optimizer={"name": "sgd", "lr": 0.05})
    mixed = cfgs(optimizer={"name": "sgd", "lr": [0.05, 1e12]})
    a = train_population(sane, iris)
    b = train_population(mixed, iris)
    assert b.members[1].status == "diverged"
    assert b.members[1].epochs_run < 20
    assert b.members[0].status == "complete"
    torch.testing.assert_close(a.model.flat[0], b.model.flat[0], rtol=1e-12, atol=1e-12)
    # the diverged member keeps finite (restored or frozen-before-NaN) weights
    assert torch.isfinite(b.model.flat[1]).all() or b.members[1].best_epoch < 0


def test_early_stopping_restores_each_members_best_weights(iris):
    configs = [
        *cfgs(optimizer={"lr": 0.3}, train={"epochs": 80, "patience": 3}),
        *cfgs(optimizer={"lr": 1e-3}, train={"epochs": 80, "patience": 3, "min_delta": 0.01}),
    ]
    result = train_population(configs, iris)
    t = to_tensors(iris, torch.float64, "cpu")
    val_loss, _ = evaluate(
        result.model,
        t.x_val,
        t.y_val,
        loss_name=result.loss_name,
        loss_hypers=result.knobs.loss,
        slope=result.knobs.leaky_slope,
    )
    for p, m in enumerate(result.members):
        # restored weights are the best epoch's: their validation loss is the recorded one
        assert val_loss[p].item() == pytest.approx(m.history["val_loss"][m.best_epoch], rel=1e-12)
        assert m.val_loss == m.history["val_loss"][m.best_epoch]
    # without min_delta the best epoch is the minimum of the history
    assert result.members[0].val_loss == min(result.members[0].history["val_loss"])
    # with min_delta an epoch only counts as better if it improves by more than min_delta
    slow = result.members[1].history["val_loss"]
    best_so_far = slow[0]
    for v in slow[1 : result.members[1].best_epoch + 1]:
        if v < best_so_far - 0.01:
            best_so_far = v
    assert result.members[1].val_loss == best_so_far
    fast = result.members[0]
    assert fast.status == "early_stopped"
    assert fast.epochs_run == fast.best_epoch + 1 + 3


@pytest.mark.parametrize("batch_size", [1, "full"])
def test_online_and_full_batch(iris, batch_size):
    result = train_population(
        cfgs(train={"batch_size": batch_size, "epochs": 3}, optimizer={"name": "sgd", "lr": 0.01}),
        iris,
    )
    assert result.members[0].epochs_run == 3
    assert np.isfinite(result.members[0].val_loss)


def test_float32_is_the_default(iris):
    (c,) = expand_configs({"data": {"source": "iris"}, "train": {"epochs": 1}})
    assert train_population([c], iris).model.flat.dtype == torch.float32


def test_regression_trains(iris):
    data = prepare_data("diabetes", seed=0)
    result = train_population(
        expand_configs(
            {
                "data": {"source": "diabetes"},
                "model": {"hidden": [16]},
                "loss": {"name": ["huber"], "delta": 50.0},
                "optimizer": {"lr": 3e-2},
                "train": {"epochs": 60, "batch_size": 32},
            }
        ),
        data,
    )
    assert result.loss_name == "huber"
    assert result.members[0].val_score > 0.3
