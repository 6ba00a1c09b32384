"""Refit, top-k and snapshot ensembles, voting and MC dropout on module populations (the
built-in CNN), each saved and loaded back with identical predictions."""

import numpy as np
import pytest

import caviar

BASE = {
    "data": {"source": "iris"},
    "model": {"kind": "cnn", "channels": [4], "hidden": [8], "dropout": 0.2},
    "optimizer": {"name": "adam", "lr": [1e-2, 3e-2, 1e-3]},
    "train": {"epochs": 6, "batch_size": 16},
}


@pytest.mark.parametrize(
    ("extra", "members"),
    [
        ({"refit": {"strategy": "fresh"}}, 1),
        ({"refit": {"strategy": "continue"}}, 1),
        ({"ensemble": {"size": 3}}, 3),
        ({"ensemble": {"size": 2, "snapshot_every": 2}}, 2),
        ({"ensemble": {"size": 2, "method": "vote"}}, 2),
    ],
    ids=["refit-fresh", "refit-continue", "top3", "snapshots", "vote"],
)
def test_final_models_of_module_populations(tmp_path, extra, members):
    run = caviar.train({**BASE, **extra})
    model = run.best_model
    assert model.n_members == members
    assert model.network["kind"] == "module" and len(model.network["model_configs"]) == members
    if "refit" in extra:
        assert run.best.refit_epochs is not None
    model.save(tmp_path / "m")
    loaded = caviar.TrainedModel.load(tmp_path / "m")
    X = run.data.X_test
    np.testing.assert_array_equal(
        loaded.predict_proba(X, preprocessed=True), model.predict_proba(X, preprocessed=True)
    )
    mean, std = loaded.predict_mc(X, 4, preprocessed=True)  # dropout 0.2: the passes differ
    assert std.max() > 0 and np.allclose(mean.sum(axis=1), 1.0)
