"""The full-batch trainer: config selection, results, population independence."""

from __future__ import annotations

import numpy as np
import pytest

from caviar.api import train
from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.errors import CaviarError
from caviar.training.full_batch import train_full_batch

BASE = {
    "data": {"source": "iris"},
    "model": {"hidden": [4]},
    "penalty": {"l2_kernel": 1e-3},
    "train": {"epochs": 12, "dtype": "float64", "patience": 4},
}


@pytest.fixture(scope="module")
def iris():
    return prepare_data("iris")


@pytest.mark.parametrize("name", ["gd", "gd_linesearch", "newton", "bfgs", "lbfgs"])
def test_full_batch_methods_train_from_the_config(name: str, iris) -> None:
    # no penalty: the recorded data loss is then the objective the line search decreases
    cfg = {**BASE, "optimizer": {"name": name}, "penalty": {}}
    if name == "newton":  # one dense Hessian per iteration: keep it short
        cfg["train"] = {**BASE["train"], "epochs": 5}
    run = train(cfg, data=iris)
    m = run.best
    assert m.status in {"complete", "early_stopped", "converged"}
    assert len(m.history["train_loss"]) == m.epochs_run >= 1
    losses = np.array(m.history["train_loss"])
    assert losses[-1] < losses[0]
    if name != "gd":  # line searches only accept decreasing steps
        assert bool((np.diff(losses) <= 1e-9).all())
    assert run.best_model.predict(iris.X_test, preprocessed=True).shape == (len(iris.X_test),)


@pytest.mark.parametrize(
    "name,line_search,epochs",
    [("lbfgs", "golden", 6), ("bfgs", "armijo", 6), ("newton", "armijo", 3)],
)
def test_member_in_population_follows_solo_trajectory(name, line_search, epochs, iris) -> None:
    cfg = {
        **BASE,
        "optimizer": {"name": name, "line_search": line_search, "lr": [1.0, 0.5]},
        "penalty": {"l2_kernel": [1e-3, 1e-1]},
        "train": {**BASE["train"], "seed": [0, 1], "epochs": epochs},
    }
    configs = expand_configs(cfg)
    pop = train_full_batch(configs, iris)
    for p, c in enumerate(configs):
        alone = train_full_batch([c], iris)
        a, b = alone.members[0], pop.members[p]
        assert a.status == b.status and a.epochs_run == b.epochs_run
        np.testing.assert_allclose(a.history["train_loss"], b.history["train_loss"], rtol=1e-10)
        np.testing.assert_allclose(a.history["lr"], b.history["lr"], rtol=1e-10)


def test_full_batch_config_errors(iris) -> None:
    with pytest.raises(CaviarError, match="no hyperparameter 'momentum'"):
        train({**BASE, "optimizer": {"name": "bfgs", "momentum": 0.9}}, data=iris)
    with pytest.raises(CaviarError, match="schedule 'constant'"):
        train({**BASE, "optimizer": {"name": "bfgs"}, "schedule": {"name": "step"}}, data=iris)
    with pytest.raises(CaviarError, match="'bfgs' has no hyperparameter 'history_size'"):
        train({**BASE, "optimizer": {"name": "bfgs", "history_size": 5}}, data=iris)
    with pytest.raises(CaviarError, match="no hyperparameter 'damping'"):
        train({**BASE, "optimizer": {"name": "adam", "damping": 0.1}}, data=iris)
    big = {**BASE, "model": {"hidden": [64, 64]}, "optimizer": {"name": "newton"}}
    with pytest.raises(CaviarError, match="parameters exceed MAX_DENSE_PARAMS.*lbfgs"):
        train(big, data=iris)


def test_callbacks_prune_copy_and_set_hyper(iris) -> None:
    import torch

    from caviar.training.full_batch import FullBatchTrainer

    cfg = {
        **BASE,
        "optimizer": {"name": "bfgs"},
        "train": {**BASE["train"], "seed": [0, 1, 2], "patience": None, "epochs": 6},
    }

    def callback(tr) -> None:
        if tr.epoch == 1:
            tr.copy_members([1], [0])  # member 1 continues as a copy of member 0
            tr.prune(torch.tensor([False, False, True]))
            tr.set_hyper("penalty", "l2_kernel", [1e-3, 1e-3, 0.5])

    tr = FullBatchTrainer(expand_configs(cfg), iris, callbacks=[callback])
    res = tr.run()
    h0, h1, h2 = (m.history["train_loss"] for m in res.members)
    assert res.members[2].status == "pruned" and len(h2) == 2
    assert h1[:2] != h0[:2]
    np.testing.assert_allclose(h1[2:], h0[2:], rtol=1e-12)  # curvature memory copied too
    with pytest.raises(CaviarError, match="no per-member hyperparameter"):
        tr.set_hyper("schedule", "k", [1.0, 1.0, 1.0])


def test_newton_damping_is_per_member(iris) -> None:
    cfg = {**BASE, "optimizer": {"name": "newton", "damping": [1e-6, 10.0]}}
    cfg["train"] = {**BASE["train"], "epochs": 2}
    run = train(cfg, data=iris)
    by_damping = {m.config.optimizer.damping: m for m in run.members}
    # a large eigenvalue floor shrinks Newton's step towards a short gradient step
    assert by_damping[10.0].history["train_loss"][0] > by_damping[1e-6].history["train_loss"][0]
