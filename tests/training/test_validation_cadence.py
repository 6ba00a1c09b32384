"""train.validate_every and train.val_subsample (:ref:`bg-validation`)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.training.trainer import PopulationTrainer, to_tensors, train_population
from caviar.training.validation_cadence import ValidationCadence, subsample_rows
from caviar.tuning.executor import run_population
from caviar.tuning.halving import SuccessiveHalving
from caviar.tuning.pbt import PopulationBasedTraining
from caviar.tuning.space import parse_space
from member_invariance import assert_members_as_alone


@pytest.fixture(scope="module")
def iris():
    return prepare_data("iris", seed=1)


def cfgs(lr=0.01, **train):
    return expand_configs(
        {
            "data": {"source": "iris"},
            "model": {"hidden": [8]},
            "optimizer": {"name": "adam", "lr": lr},
            "train": {
                "epochs": 10,
                "batch_size": 16,
                "patience": None,
                "dtype": "float64",
                **train,
            },
        }  # fmt: skip
    )


def test_cadence_by_hand():
    c = ValidationCadence(3, 10)
    assert [e for e in range(10) if c.due(e)] == [2, 5, 8, 9]
    assert [c.count(e) for e in range(10)] == [0, 0, 1, 1, 1, 2, 2, 2, 3, 4]
    assert c.total == 4
    assert ValidationCadence(1, 5).total == 5


def test_validated_epochs_equal_the_every_epoch_run_and_the_rest_are_nan(iris):
    every = train_population(cfgs(), iris).members[0].history
    some = train_population(cfgs(validate_every=3), iris).members[0].history
    np.testing.assert_array_equal(some["train_loss"], every["train_loss"])
    for key in ("val_loss", "val_score"):
        for e in range(10):
            if e in (2, 5, 8, 9):
                assert some[key][e] == every[key][e]
            else:
                assert math.isnan(some[key][e])


def test_patience_counts_validations_and_the_best_epoch_is_restored_exactly(iris):
    # a high rate makes the validation loss turn up early
    free = train_population(cfgs(lr=0.3, epochs=30, validate_every=2), iris).members[0]
    val = free.history["val_loss"]
    validated = [e for e in range(30) if (e + 1) % 2 == 0 or e == 29]
    best, wait, stop = math.inf, 0, None
    for e in validated:  # patience 2 by hand, in validations
        if val[e] < best:
            best, best_epoch, wait = val[e], e, 0
        else:
            wait += 1
            if wait >= 2:
                stop = e
                break
    assert stop is not None and stop < 29
    run = train_population(cfgs(lr=0.3, epochs=30, validate_every=2, patience=2), iris)
    m = run.members[0]
    assert (m.status, m.epochs_run, m.best_epoch) == ("early_stopped", stop + 1, best_epoch)
    # the restored weights are exactly those after epoch best_epoch
    upto = train_population(cfgs(lr=0.3, epochs=best_epoch + 1, patience=None), iris)
    torch.testing.assert_close(run.model.flat[0], upto.model.flat[0], rtol=0, atol=0)


def test_val_subsample_is_seeded_shared_and_matches_a_hand_evaluation(iris):
    configs = cfgs(lr=[0.01, 0.03], epochs=1, val_subsample=10, shuffle_seed=7)
    trainer = PopulationTrainer(configs, iris)
    result = trainer.run()
    rows = subsample_rows(len(iris.y_val), 10, 7)
    assert len(set(rows.tolist())) == 10
    t = to_tensors(iris, torch.float64, "cpu")
    torch.testing.assert_close(trainer.tensors.x_val, t.x_val[rows])
    with torch.no_grad():  # (P, 10, K), the restored epoch-0 weights
        out = result.model(t.x_val[rows])
    for p in range(2):
        ref = F.cross_entropy(out[p], t.y_val[rows])
        assert result.members[p].history["val_loss"][0] == pytest.approx(float(ref), rel=1e-12)
    assert subsample_rows(len(iris.y_val), 10**6, 7) is None  # larger than the split: all


def test_members_follow_their_own_trajectory_with_a_cadence(iris):
    configs = cfgs(lr=[0.3, 0.01, 0.05], epochs=20, validate_every=3, patience=2)
    assert_members_as_alone(configs, iris, members=(0, 1, 2), keys=("train_loss", "val_loss"))


def test_successive_halving_rungs_count_validated_epochs(iris):
    lrs = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 2e-1]
    recs = run_population(
        cfgs(lr=lrs, epochs=8, validate_every=2), iris, callbacks=[SuccessiveHalving(1, 2)]
    )
    # 4 validations (epochs 1, 3, 5, 7); rungs at validations 1 and 2: 8 -> 4 -> 2 alive
    assert sorted(r.member.epochs_run for r in recs) == [2] * 4 + [4] * 2 + [8] * 2


def test_pbt_interval_counts_validated_epochs(iris):
    base = {"data": {"source": "iris"}, "model": {"hidden": [8]}}
    space = parse_space({"optimizer.lr": {"log_uniform": [1e-3, 1e-1]}}, base)
    pbt = PopulationBasedTraining(list(space.dimensions), interval=2, fraction=0.25, seed=0)
    trainer = PopulationTrainer(
        cfgs(lr=[1e-3, 3e-3, 1e-2, 3e-2], epochs=12, validate_every=2), iris, callbacks=[pbt]
    )
    trainer.pbt_log = {}
    trainer.run()
    epochs = sorted({step["epoch"] for log in trainer.pbt_log.values() for step in log})
    assert epochs == [4, 8]  # after validations 2 and 4 (6 is the last epoch: no step)
