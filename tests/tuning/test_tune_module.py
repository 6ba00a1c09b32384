"""caviar.tune on generic module populations: the built-in CNN and a user's module, with
successive halving, PBT, compaction, --resume (exact rebuild) and the saved model."""

import numpy as np
import pytest
import torch
from test_tune_pbt_final import pbt_config
from test_tune_rebuild import assert_same_model, halving_config, member_val_scores
from torch import nn

import caviar
from caviar.data import prepare_arrays
from caviar.model import TrainedModel
from caviar.tuning.runner import tune
from caviar.tuning.storage import decode_params


def cnn(cfg):
    cfg["model"] = {"kind": "cnn", "channels": [4], "hidden": [8], "kernel_size": 3}
    return cfg


@pytest.mark.parametrize(
    "make",
    [lambda: cnn(pbt_config(ensemble_top_k=4)), lambda: cnn(halving_config())],
    ids=["pbt", "halving"],
)
def test_a_resumed_cnn_search_rebuilds_every_chosen_member_exactly(tmp_path, make):
    cfg = make()
    first = tune(cfg, out=tmp_path / "run")
    again = tune(cfg, out=tmp_path / "run", resume=True)
    assert first.model.network["kind"] == "module"
    assert set(again.rebuilt) == {t["index"] for t in again.trials}
    assert_same_model(first.model, again.model)
    assert member_val_scores(again) == [t["val_score"] for t in again.trials]
    assert again.test_score == first.test_score


def wide_or_narrow(cfg):
    """A user's module with its own structural knob, ``model.width``."""
    return nn.Sequential(
        nn.Linear(cfg["input_shape"][0], cfg["width"]),
        nn.Tanh(),
        caviar.nn.Dropout(),
        nn.Linear(cfg["width"], cfg["n_outputs"]),
    )


def test_tune_a_user_module_with_a_searched_structural_knob(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int)
    data = prepare_arrays(X, y, seed=0)
    cfg = {
        "data": {"source": "arrays"},
        "optimizer": {"name": "adam"},
        "train": {"epochs": 4, "batch_size": 32, "patience": None},
        "search": {
            "strategy": "random",
            "trials": 8,
            "seed": 0,
            "space": {
                "optimizer.lr": {"log_uniform": [1e-3, 1e-1]},
                "model.dropout": {"uniform": [0.0, 0.5]},
                "model.width": {"choice": [4, 16]},
            },
        },
    }
    result = tune(cfg, out=tmp_path / "run", data=data, module=wide_or_narrow)
    assert result.counts["complete"] == 8 and len(result.trials) == 8
    widths = {decode_params(result.plan.space, t["params"])["model.width"] for t in result.trials}
    assert widths == {4, 16}  # two structures: two populations
    assert all(np.isfinite(t["val_score"]) for t in result.trials)
    result.model.save(tmp_path / "model")
    loaded = TrainedModel.load(tmp_path / "model")
    np.testing.assert_allclose(
        loaded.predict_proba(data.X_test, preprocessed=True),
        result.model.predict_proba(data.X_test, preprocessed=True),
        rtol=1e-12,
    )
    assert loaded.network["factory"].endswith(":wide_or_narrow")


def test_compaction_keeps_module_members_exact():
    """Members left after compaction (halving prunes half) follow the trajectory they
    follow without compaction (the compacted population rebuilds its modules)."""
    from caviar.api import load_data_for
    from caviar.config import expand_configs
    from caviar.tuning.executor import run_population
    from caviar.tuning.rebuild import StopAfter

    cfgs = expand_configs(
        cnn(
            {
                "data": {"source": "iris"},
                "optimizer": {"name": "adam", "lr": [1e-3, 1e-2, 3e-2, 5e-2]},
                "train": {"epochs": 5, "batch_size": 16, "patience": None, "dtype": "float64"},
            }
        )
    )
    data = load_data_for(cfgs)
    stopped = run_population(cfgs, data, callbacks=[StopAfter({0: 1, 1: 1})], min_compact=2)
    plain = run_population(cfgs, data, min_compact=10)
    for r in (2, 3):
        for k, v in stopped[r].weights.items():
            torch.testing.assert_close(v, plain[r].weights[k], rtol=1e-12, atol=1e-12)
