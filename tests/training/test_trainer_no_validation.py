"""Training on data with an empty validation split (the scikit-learn estimators' default)."""

import dataclasses

import numpy as np
import pytest
import torch

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.train.trainer import PopulationTrainer, train_population


@pytest.fixture(scope="module", params=["iris", "diabetes"])
def pair(request):
    """The same data with and without its validation rows."""
    data = prepare_data(request.param, seed=2)
    empty = dataclasses.replace(data, X_val=data.X_val[:0], y_val=data.y_val[:0])
    return data, empty


def configs(source):
    return expand_configs(
        {
            "data": {"source": source},
            "model": {"hidden": [8]},
            "optimizer": {"lr": [1e-2, 5e-2]},
            "train": {"epochs": 7, "batch_size": 16, "patience": 2, "dtype": "float64"},
        }
    )


def test_no_validation_runs_every_epoch_and_keeps_final_weights(pair):
    data, empty = pair
    cfgs = configs(data.source_name)
    final = {}

    def grab(trainer):  # weights after the last epoch, before any best-weights restore
        if trainer.epoch == trainer.epochs - 1:
            final["flat"] = trainer.model.flat.detach().clone()

    for c in cfgs:
        c.train.patience = None  # with validation: no stopping either, same trajectory
    PopulationTrainer(cfgs, data, callbacks=[grab]).run()
    for c in cfgs:
        c.train.patience = 2  # without validation patience must not matter
    result = train_population(cfgs, empty)
    torch.testing.assert_close(result.model.flat, final["flat"], rtol=0, atol=0)
    for m in result.members:
        assert (m.status, m.epochs_run, m.best_epoch) == ("complete", 7, 6)
        assert np.isnan(m.val_loss) and np.isnan(m.val_score)
        assert m.train_loss == m.history["train_loss"][-1]
