"""train.stop_loss (:ref:`bg-early-stopping`): a per-member training-error threshold."""

import numpy as np
import pytest

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.errors import CaviarError
from caviar.training.full_batch import train_full_batch
from caviar.training.trainer import train_population
from member_invariance import assert_members_as_alone


@pytest.fixture(scope="module")
def iris():
    return prepare_data("iris", seed=1)


def cfgs(stop_loss, **train):
    return expand_configs(
        {
            "data": {"source": "iris"},
            "model": {"hidden": [8]},
            "optimizer": {"name": "adam", "lr": 0.01},
            "train": {
                "epochs": 30,
                "batch_size": 16,
                "patience": None,
                "dtype": "float64",
                "stop_loss": stop_loss,
                **train,
            },
        }  # fmt: skip
    )


def test_each_member_stops_after_the_first_epoch_at_or_below_its_threshold(iris):
    free = train_population(cfgs(None), iris).members[0].history["train_loss"]
    thresholds = [free[4], free[12] + 1e-9, 0.5 * (free[20] + free[21]), None]
    result = train_population(cfgs(thresholds), iris)
    expected_runs = [5, 13, 22, 30]
    for m, runs in zip(result.members, expected_runs, strict=True):
        assert m.epochs_run == runs
        np.testing.assert_allclose(m.history["train_loss"], free[:runs], rtol=1e-12)
    assert [m.status for m in result.members] == ["early_stopped"] * 3 + ["complete"]
    # the usual best-epoch rule still picks the weights
    for m in result.members:
        assert m.best_epoch == int(np.argmin(m.history["val_loss"]))


def test_members_with_their_own_threshold_follow_their_own_trajectory(iris):
    free = train_population(cfgs(None), iris).members[0].history["train_loss"]
    configs = cfgs([free[3], None, free[8]], seed=[0])
    for i, c in enumerate(configs):
        c.optimizer.lr = [0.01, 0.02, 0.005][i]
    assert_members_as_alone(configs, iris, members=(0, 1, 2))


def test_full_batch_methods_refuse_stop_loss(iris):
    with pytest.raises(CaviarError, match="stop_loss is for first-order"):
        train_full_batch(
            expand_configs(
                {
                    "data": {"source": "iris"},
                    "optimizer": {"name": "lbfgs"},
                    "train": {"stop_loss": 0.1},
                }
            ),  # fmt: skip
            iris,
        )
