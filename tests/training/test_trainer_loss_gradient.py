"""The trainer's closed-form loss gradient (cross-entropy on class codes) against autograd.

Training with ``LossSpec.with_gradient`` and training with autograd on the loss (the path
every other loss takes) must follow the same trajectory, in float64.
"""

import pytest
import torch

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.losses.cross_entropy import cross_entropy_and_gradient
from caviar.training.trainer import PopulationTrainer


@pytest.fixture(scope="module")
def iris():
    return prepare_data("iris", seed=1)


def _configs():
    return expand_configs(
        {
            "data": {"source": "iris"},
            "model": {"hidden": [8], "dropout": [0.0, 0.2]},
            "loss": {"name": "cross_entropy", "label_smoothing": [0.0, 0.1]},
            "penalty": {"l2_kernel": 1e-3},
            "optimizer": {"name": "sgd", "lr": [0.05, 1e12]},  # the second one diverges
            "train": {"epochs": 6, "batch_size": 16, "patience": None, "dtype": "float64"},
        }
    )


def _train(data, closed_form: bool):
    trainer = PopulationTrainer(_configs(), data)
    assert trainer.loss_with_gradient is cross_entropy_and_gradient
    if not closed_form:
        trainer.loss_with_gradient = None
    return trainer.run(), trainer


def test_same_trajectory_as_autograd_on_the_loss(iris):
    fast, t_fast = _train(iris, closed_form=True)
    slow, t_slow = _train(iris, closed_form=False)
    assert [m.status for m in fast.members] == [m.status for m in slow.members]
    assert any(m.status == "diverged" for m in fast.members)
    torch.testing.assert_close(t_fast.model.flat, t_slow.model.flat, rtol=1e-10, atol=1e-12)
    for a, b in zip(fast.members, slow.members, strict=True):
        ha, hb = (torch.tensor(m.history["train_loss"], dtype=torch.float64) for m in (a, b))
        torch.testing.assert_close(ha, hb, rtol=1e-10, atol=0, equal_nan=True)


def test_out_of_range_codes_fall_back_to_autograd(iris):
    trainer = PopulationTrainer(_configs()[:1], iris)
    trainer.tensors.y_train[0] = 7  # not a class of iris: the loss itself must report it
    assert trainer._closed_form_loss() is None
    regression = PopulationTrainer(
        expand_configs({"data": {"source": "diabetes"}, "model": {"hidden": [4]}}),
        prepare_data("diabetes", seed=0),
    )
    assert regression.loss_with_gradient is None
