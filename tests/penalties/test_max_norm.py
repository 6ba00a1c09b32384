"""Max-norm constraint (:ref:`bg-max-norm`): the projection by hand, both
gradient paths, per member inside a population."""

import math

import numpy as np
import pytest
import torch

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.errors import CaviarError
from caviar.penalties.max_norm import project_max_norm_
from caviar.training.full_batch import train_full_batch
from caviar.training.trainer import train_population
from member_invariance import assert_members_as_alone


@pytest.fixture(scope="module")
def iris():
    return prepare_data("iris", seed=1)


def cfgs(max_norm, **sections):
    raw = {
        "data": {"source": "iris"},
        "model": {"hidden": [6, 5], "init": "normal", "init_scale": 1.0},
        "optimizer": {"name": "sgd", "lr": 0.5},
        "penalty": {"max_norm": max_norm},
        "train": {"epochs": 1, "batch_size": "full", "patience": None, "dtype": "float64"},
    }
    for k, v in sections.items():
        raw.setdefault(k, {}).update(v)
    return expand_configs(raw)


def test_projection_by_hand():
    w = torch.tensor([[[3.0, 0.1], [4.0, 0.2]], [[3.0, 0.1], [4.0, 0.2]]], dtype=torch.float64)
    project_max_norm_([(w, -1)], torch.tensor([2.0, math.inf], dtype=torch.float64))
    # member 0: unit 0 has norm 5 -> scaled by 2/5; unit 1 (norm 0.22) unchanged
    expected0 = torch.tensor([[1.2, 0.1], [1.6, 0.2]], dtype=torch.float64)
    torch.testing.assert_close(w[0], expected0, rtol=1e-15, atol=0)
    torch.testing.assert_close(w[1], torch.tensor([[3.0, 0.1], [4.0, 0.2]]).double())
    # torch layout (P, out, in): units on axis 1; a stopped member is left alone
    k = torch.tensor([[[3.0, 4.0]], [[6.0, 8.0]]], dtype=torch.float64)
    alive = torch.tensor([True, False])
    project_max_norm_([(k, 1)], torch.tensor([1.0, 1.0], dtype=torch.float64), alive)
    torch.testing.assert_close(k, torch.tensor([[[0.6, 0.8]], [[6.0, 8.0]]]).double())


@pytest.mark.parametrize("batch_norm", [False, True], ids=["backprop", "autograd"])
def test_one_step_equals_the_unconstrained_step_projected_by_hand(iris, batch_norm):
    model = {"batch_norm": batch_norm}
    free = train_population(cfgs(None, model=model), iris)
    c = 0.8
    tied = train_population(cfgs(c, model=model), iris)
    active = 0
    for w_free, w_tied in zip(free.model.weights(), tied.model.weights(), strict=True):
        w = w_free[0].detach().numpy()
        norms = np.sqrt((w**2).sum(axis=0, keepdims=True))
        active += int((norms > c).sum())
        expected = w * np.minimum(1.0, c / norms)
        np.testing.assert_allclose(w_tied[0].detach().numpy(), expected, rtol=1e-13, atol=1e-15)
        assert np.sqrt((w_tied[0].detach().numpy() ** 2).sum(axis=0)).max() <= c * (1 + 1e-12)
    assert active >= 5  # the constraint was active on hidden units
    # biases are not constrained
    for b_free, b_tied in zip(free.model.biases(), tied.model.biases(), strict=True):
        torch.testing.assert_close(b_free, b_tied, rtol=1e-13, atol=1e-15)


def test_members_with_their_own_max_norm_follow_their_own_trajectory(iris):
    configs = cfgs([0.5, None, 1.5, 3.0], train={"epochs": 5, "batch_size": 16})
    together = assert_members_as_alone(configs, iris, members=(0, 1, 3))
    for i, c in enumerate([0.5, math.inf, 1.5, 3.0]):
        for w in together.model.weights():
            assert float(w[i].detach().norm(dim=0).max()) <= c * (1 + 1e-12)


def test_full_batch_methods_refuse_max_norm(iris):
    with pytest.raises(CaviarError, match="max_norm is for first-order"):
        train_full_batch(cfgs(1.0, optimizer={"name": "bfgs", "lr": None}), iris)


def small_cnn(cfg):
    from torch import nn

    c, length = cfg["input_shape"]
    return nn.Sequential(
        nn.Conv1d(c, 4, 3, padding=1),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(4 * length, cfg["n_outputs"]),
    )


def test_generic_module_filters_and_rows_are_projected_by_hand():
    from caviar.data import prepare_arrays
    from caviar.nn.factory import register

    rng = np.random.default_rng(5)
    X = rng.normal(size=(64, 2, 10))
    data = prepare_arrays(X, (X[:, 0].sum(axis=1) > 0).astype(int), seed=1)
    path = register(small_cnn)

    def run(c):
        return train_population(
            expand_configs(
                {
                    "data": {"source": "arrays"},
                    "model": {"kind": "module", "factory": path},
                    "optimizer": {"name": "sgd", "lr": 2.0},
                    "penalty": {"max_norm": c},
                    "train": {
                        "epochs": 1,
                        "batch_size": "full",
                        "patience": None,
                        "dtype": "float64",
                    },
                }  # fmt: skip
            ),
            data,
        )

    free, c = run(None), 0.3
    tied = run(c)
    active = 0
    for w_free, w_tied in zip(free.model.weights(), tied.model.weights(), strict=True):
        w = w_free[0].detach().numpy()  # torch layout (out, in, *kernel): one unit a row
        norms = np.sqrt((w.reshape(w.shape[0], -1) ** 2).sum(axis=1))
        active += int((norms > c).sum())
        scale = np.minimum(1.0, c / norms).reshape(-1, *([1] * (w.ndim - 1)))
        np.testing.assert_allclose(w_tied[0].detach().numpy(), w * scale, rtol=1e-12, atol=1e-14)
    assert active >= 2
