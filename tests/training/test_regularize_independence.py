"""Population independence with every regularization knob on: a member inside a population
follows the same trajectory as alone (per-member random streams, per-member BN statistics)."""

import numpy as np
import pytest
import torch

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.training.trainer import PopulationTrainer, train_population


@pytest.fixture(scope="module")
def wine():
    return prepare_data("wine", seed=0)


def configs(n, *, source="wine", sampling="shuffle", batch_norm=True, image=False):
    rng = np.random.default_rng(1)
    out = []
    for i in range(n):
        raw = {
            "data": {"source": source},
            "model": {
                "hidden": [12, 8],
                "activation": "relu",
                "batch_norm": batch_norm,
                "dropout": float(rng.uniform(0, 0.5)),
                "input_dropout": float(rng.uniform(0, 0.2)),
                "bn_momentum": float(rng.uniform(0.05, 0.5)),
            },
            "noise": {"weight": float(rng.uniform(0, 0.02)), "input": float(rng.uniform(0, 0.1))},
            "augment": {"interpolate": float(rng.uniform(0, 0.5))},
            "optimizer": {"name": "adam", "lr": float(10 ** rng.uniform(-3, -2))},
            "train": {
                "epochs": 5,
                "batch_size": 8,
                "batch_size_growth": 2.0,
                "batch_size_every": 2,
                "patience": 2,
                "seed": 100 + i,
                "sampling": sampling,
                "dtype": "float64",
            },
        }
        if image:
            raw["augment"].update(shift=float(rng.uniform(0, 1)), rotate=float(rng.uniform(0, 15)))
        out.extend(expand_configs(raw))
    return out


def assert_same(together, alone, i):
    torch.testing.assert_close(together.model.flat[i], alone.model.flat[0], rtol=1e-9, atol=1e-11)
    torch.testing.assert_close(together.model.stats[i], alone.model.stats[0], rtol=1e-9, atol=1e-11)
    a, b = together.members[i], alone.members[0]
    assert (a.status, a.best_epoch, a.epochs_run) == (b.status, b.best_epoch, b.epochs_run)
    for key in ("train_loss", "val_loss", "val_score"):
        np.testing.assert_allclose(a.history[key], b.history[key], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("sampling", ["shuffle", "bootstrap"])
def test_member_with_every_knob_equals_member_alone(wine, sampling):
    cfgs = configs(8, sampling=sampling)
    together = train_population(cfgs, wine)
    for i in (0, 7) if sampling == "shuffle" else (5,):
        assert_same(together, train_population([cfgs[i]], wine), i)


def test_image_augmentation_keeps_independence():
    digits = prepare_data("digits", seed=0)
    cfgs = configs(4, source="digits", sampling="shared", batch_norm=False, image=True)
    for c in cfgs:
        c.train.epochs = 2
        c.train.batch_size = 64
    cfgs[2].augment.shift = 0.0  # rotation only
    cfgs[3].augment.rotate = 0.0  # shift only
    together = train_population(cfgs, digits)
    for i in (2, 3):
        assert_same(together, train_population([cfgs[i]], digits), i)


def test_plain_member_among_regularized_equals_plain_member_alone(wine):
    cfgs = configs(4, sampling="shared", batch_norm=False)
    plain = cfgs[1].model_copy(deep=True)
    plain.model.dropout = plain.model.input_dropout = 0.0
    plain.noise.weight = plain.noise.input = 0.0
    plain.augment.interpolate = 0.0
    cfgs[1] = plain
    alone = PopulationTrainer([plain], wine)
    assert not alone.regularization.active  # a plain config takes the original path
    together = train_population(cfgs, wine)
    assert_same(together, alone.run(), 1)


def test_regularized_training_is_deterministic(wine):
    cfgs = configs(3)
    a, b = train_population(cfgs, wine), train_population(cfgs, wine)
    assert torch.equal(a.model.flat, b.model.flat) and torch.equal(a.model.stats, b.model.stats)
