"""The core invariant: a member inside a population follows the trajectory it follows alone."""

import numpy as np
import pytest
import torch

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.training.trainer import train_population


@pytest.fixture(scope="module")
def wine():
    return prepare_data("wine", seed=0)


def population_configs(n: int, optimizer: str = "adam", extra: dict | None = None):
    rng = np.random.default_rng(0)
    lrs = (10 ** rng.uniform(-3.5, -1.5, n)).tolist()
    l2s = (10 ** rng.uniform(-5, -2, n)).tolist()
    smooth = rng.uniform(0, 0.2, n).tolist()
    cfgs = []
    for i in range(n):
        raw = {
            "data": {"source": "wine"},
            "model": {"hidden": [16, 8], "activation": "tanh"},
            "loss": {"label_smoothing": smooth[i]},
            "penalty": {"l2_kernel": l2s[i], "l1_bias": l2s[i] / 10},
            "optimizer": {"name": optimizer, "lr": lrs[i]},
            "schedule": {"name": "exponential", "k": 0.1 * (i % 3)},
            "train": {"epochs": 6, "batch_size": 16, "patience": 3, "seed": i, "dtype": "float64"},
        }
        if extra:
            for section, values in extra.items():
                raw.setdefault(section, {}).update(values)
        cfgs.extend(expand_configs(raw))
    return cfgs


@pytest.mark.parametrize("optimizer", ["adam", "momentum", "rmsprop"])
def test_member_in_population_of_64_equals_member_alone(wine, optimizer):
    cfgs = population_configs(64, optimizer)
    together = train_population(cfgs, wine)
    for i in (0, 17, 63):
        alone = train_population([cfgs[i]], wine)
        torch.testing.assert_close(
            together.model.flat[i], alone.model.flat[0], rtol=1e-9, atol=1e-11
        )
        a, b = together.members[i], alone.members[0]
        assert (a.status, a.best_epoch, a.epochs_run) == (b.status, b.best_epoch, b.epochs_run)
        for key in ("train_loss", "val_loss", "val_score"):
            np.testing.assert_allclose(a.history[key], b.history[key], rtol=1e-9, atol=1e-12)


def test_activity_penalty_and_leaky_slope_keep_independence(wine):
    cfgs = population_configs(8, extra={"model": {"activation": "leaky_relu"}})
    for i, c in enumerate(cfgs):
        c.model.leaky_slope = 0.05 * i
        c.penalty.l2_activity = 1e-3 * i
    together = train_population(cfgs, wine)
    alone = train_population([cfgs[5]], wine)
    torch.testing.assert_close(together.model.flat[5], alone.model.flat[0], rtol=1e-9, atol=1e-11)


def test_training_is_deterministic(wine):
    cfgs = population_configs(4)
    for c in cfgs:
        c.train.dtype = "float32"
    a = train_population(cfgs, wine)
    b = train_population(cfgs, wine)
    assert torch.equal(a.model.flat, b.model.flat)


def test_independence_holds_on_the_fused_adam_path(wine):
    """Rows of >= 4096 parameters take Adam's fused per-member kernel
    (caviar.optim.fused_adam); members stay independent there too."""
    from caviar.optim.fused_adam import worth_fusing

    cfgs = population_configs(64, extra={"model": {"hidden": [64, 48]}})
    together = train_population(cfgs, wine)
    assert worth_fusing(together.model.flat)
    for i in (3, 40):
        alone = train_population([cfgs[i]], wine)
        torch.testing.assert_close(
            together.model.flat[i], alone.model.flat[0], rtol=1e-9, atol=1e-11
        )
        a, b = together.members[i], alone.members[0]
        np.testing.assert_allclose(a.history["val_loss"], b.history["val_loss"], rtol=1e-9)
