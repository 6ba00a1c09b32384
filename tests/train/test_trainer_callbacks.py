"""Callbacks act on a running population: prune, copy members (PBT), set hyperparameters."""

import pytest
import torch

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.train.trainer import PopulationTrainer


@pytest.fixture(scope="module")
def iris():
    return prepare_data("iris", seed=2)


def configs(lrs, epochs=6):
    return expand_configs(
        {
            "data": {"source": "iris"},
            "model": {"hidden": [8]},
            "optimizer": {"name": "adam", "lr": lrs},
            "train": {"epochs": epochs, "batch_size": 16, "patience": None, "dtype": "float64"},
        }
    )


def test_prune_freezes_members(iris):
    snapshots = {}

    def prune_member_one_after_epoch_two(tr):
        if tr.epoch == 1:
            tr.prune(torch.tensor([False, True]))
            snapshots["at_prune"] = tr.model.flat[1].clone()

    tr = PopulationTrainer(
        configs([1e-2, 1e-2]), iris, callbacks=[prune_member_one_after_epoch_two]
    )
    result = tr.run()
    assert result.members[1].status == "pruned"
    assert result.members[1].epochs_run == 2
    assert result.members[0].epochs_run == 6
    # pruned weights stopped changing (best-restoration may only pick an earlier epoch)
    assert result.members[1].best_epoch <= 1


def test_copy_members_continues_as_the_source(iris):
    """After copying member 1 onto member 0 (same hyperparameters), both evolve identically."""

    def copy_once(tr):
        if tr.epoch == 2:
            tr.copy_members([0], [1])

    tr = PopulationTrainer(configs([3e-3, 3e-3]), iris, callbacks=[copy_once])
    # different seeds make the members differ before the copy
    tr.configs[0].train.seed = 0
    result = tr.run()
    torch.testing.assert_close(result.model.flat[0], result.model.flat[1], rtol=0, atol=0)
    assert result.members[0].history["val_loss"][3:] == result.members[1].history["val_loss"][3:]


def test_set_hyper_changes_the_learning_rate(iris):
    before = {}

    def freeze_by_zero_lr(tr):
        if tr.epoch == 0:
            tr.set_hyper("optimizer", "lr", [0.0, 1e-2])
            before["w"] = tr.model.flat.clone()

    tr = PopulationTrainer(configs([1e-2, 1e-2], epochs=3), iris, callbacks=[freeze_by_zero_lr])
    tr.run()
    # member 0 no longer moves (Adam with lr 0), member 1 keeps learning
    assert torch.equal(tr.model.flat[0], before["w"][0])
    assert not torch.equal(tr.model.flat[1], before["w"][1])
    assert torch.equal(tr.optimizer.hypers["lr"], torch.tensor([0.0, 1e-2], dtype=torch.float64))
    assert tr.knobs.optimizer["lr"][0] == 0.0


def test_set_hyper_rejects_unknown_names(iris):
    from caviar.errors import CaviarError

    tr = PopulationTrainer(configs([1e-2]), iris)
    with pytest.raises(CaviarError, match="optimizer.momentum"):
        tr.set_hyper("optimizer", "momentum", [0.5])
