"""Refit after early stopping (:ref:`bg-early-stopping`): both strategies stop where that
section says."""

import numpy as np
import pytest
import torch

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.errors import CaviarError
from caviar.training.refit import refit, train_val_data
from caviar.training.trainer import train_population


@pytest.fixture(scope="module")
def trained():
    data = prepare_data("wine", seed=2)
    cfgs = expand_configs(
        {
            "data": {"source": "wine"},
            "model": {"hidden": [16], "dropout": 0.1},
            "optimizer": {"lr": [0.003, 0.03, 0.1]},
            "train": {"epochs": 30, "batch_size": 16, "patience": 3, "seed": 4, "dtype": "float64"},
        }
    )
    return data, cfgs, train_population(cfgs, data)


def test_fresh_refit_trains_each_member_for_its_best_epoch_count(trained):
    data, cfgs, result = trained
    stars = [m.best_epoch + 1 for m in result.members]
    assert len(set(stars)) > 1  # members stop at different epochs
    again = refit(result, data, "fresh")
    assert [m.epochs_run for m in again.members] == stars
    assert all(m.status == "complete" for m in again.members)
    # member 1 equals a fresh member trained alone on train+validation for i* epochs
    alone_cfg = cfgs[1].model_copy(deep=True)
    alone_cfg.train.patience, alone_cfg.train.epochs = None, stars[1]
    alone = train_population([alone_cfg], train_val_data(data))
    n_full = len(data.X_train) + len(data.X_val)
    assert alone.members[0].history["train_loss"] == again.members[1].history["train_loss"]
    assert n_full == len(train_val_data(data).X_train)


def test_continue_refit_stops_when_training_loss_reaches_the_best_epochs(trained):
    data, _, result = trained
    again = refit(result, data, "continue", max_epochs=40)
    for before, after in zip(result.members, again.members, strict=True):
        eps = before.train_loss  # training loss at the best validation epoch
        losses = after.history["train_loss"]
        assert all(v > eps for v in losses[:-1])  # did not stop earlier
        assert losses[-1] <= eps or len(losses) == 40  # stopped at the first epoch reaching eps
    assert any(m.epochs_run < 40 for m in again.members)


def test_continue_refit_starts_from_the_trained_weights(trained):
    data, _, result = trained
    again = refit(result, data, "continue", max_epochs=1)
    # one epoch from the trained weights is far better than the first epoch from scratch
    first_continue = np.array([m.history["train_loss"][0] for m in again.members])
    first_fresh = np.array([m.history["train_loss"][0] for m in result.members])
    assert (first_continue < first_fresh).all()
    assert not torch.equal(again.model.flat, result.model.flat)


def test_unknown_strategy_is_an_error(trained):
    data, _, result = trained
    with pytest.raises(CaviarError, match="unknown refit strategy"):
        refit(result, data, "later")


def test_refit_through_the_api_records_epochs_and_keeps_the_test_split_unseen(trained):
    from caviar.api import train

    data, _, _ = trained
    run = train(
        {
            "data": {"source": "wine"},
            "model": {"hidden": [8]},
            "optimizer": {"lr": [0.01, 0.05]},
            "train": {"epochs": 12, "patience": 2},
            "refit": {"strategy": "fresh"},
        },
        data=data,
    )
    for m in run.members:
        assert m.refit_epochs == m.best_epoch + 1
    assert run.best_model.metrics["refit_epochs"] == run.best.best_epoch + 1
    assert np.isfinite(run.test_score)
