"""The knobs of issue 16 in `caviar tune` spaces: the funnel helper
(:ref:`bg-network-design`) and the per-member knobs (max_norm, plateau, stop_loss,
validate_every) inside one search."""

import copy

import numpy as np
import pytest
from tune_helpers import iris_config

import caviar
from caviar.api import load_data_for
from caviar.config import validate_config
from caviar.errors import CaviarError
from caviar.training.trainer import train_population
from caviar.tuning.funnel import funnel_widths
from caviar.tuning.space import parse_space

BASE = {"data": {"source": "iris"}}
FUNNEL = {"funnel": {"first": [8, 64], "layers": [1, 3], "shrink": [0.25, 1.0]}}


def test_funnel_widths_by_hand():
    assert funnel_widths(256, 3, 0.5) == [256, 128, 64]
    assert funnel_widths(100, 4, 0.3) == [100, 30, 9, 3]
    assert funnel_widths(10, 5, 0.1) == [10, 1, 1, 1, 1]  # never below one unit
    assert funnel_widths(64, 2, 1.0) == [64, 64]


def test_funnel_space_samples_narrowing_architectures():
    space = parse_space(
        {"model.hidden": FUNNEL, "optimizer.lr": {"log_uniform": [1e-3, 1e-1]}}, BASE
    )
    assert space.paths == [
        "model.hidden:first", "model.hidden:layers", "model.hidden:shrink", "optimizer.lr"
    ]  # fmt: skip
    rng = np.random.default_rng(0)
    depths = set()
    for _ in range(50):
        p = space.sample(rng)
        hidden = validate_config(space.apply(BASE, p)).model.hidden
        assert hidden == funnel_widths(p["model.hidden:first"], p["model.hidden:layers"],
                                       p["model.hidden:shrink"])  # fmt: skip
        assert 8 <= hidden[0] <= 64 and all(
            a >= b for a, b in zip(hidden[:-1], hidden[1:], strict=True)
        )
        depths.add(len(hidden))
    assert depths == {1, 2, 3}


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"funnel": {"first": [8, 64], "layers": [1, 3]}}, "first, layers and shrink"),
        ({"funnel": {"first": [8, 64], "layers": [1, 3], "shrink": [0.0, 1.0]}}, "shrink"),
        ({"funnel": {"first": [0, 64], "layers": [1, 3], "shrink": [0.5, 1.0]}}, "integers"),
    ],
)
def test_bad_funnels_are_one_line_errors(spec, message):
    with pytest.raises(CaviarError, match=message):
        parse_space({"model.hidden": spec}, BASE)
    with pytest.raises(CaviarError, match="model.hidden only"):
        parse_space({"model.dropout": FUNNEL}, BASE)


def test_new_per_member_knobs_in_one_search_follow_the_member_alone(tmp_path):
    cfg = iris_config()
    cfg["train"].update({"epochs": 6, "validate_every": 2, "patience": 2})
    cfg["schedule"] = {"name": "plateau", "factor": 0.5}
    cfg["search"].update({"trials": 6, "strategy": "random"})
    cfg["search"]["space"] = {
        "optimizer.lr": {"log_uniform": [1e-3, 1e-1]},
        "penalty.max_norm": {"log_uniform": [0.3, 3.0]},
        "schedule.patience": {"int_uniform": [0, 2]},
        "train.stop_loss": {"uniform": [0.2, 0.6]},
        "model.hidden": {"funnel": {"first": [8, 8], "layers": [1, 2], "shrink": [0.5, 0.5]}},
    }
    result = caviar.tune(copy.deepcopy(cfg), out=tmp_path / "run")
    assert len(result.trials) == 6
    assert all(isinstance(t["warnings"], list) for t in result.trials)
    shared = [t for t in result.trials if len(t["population"]) > 1]
    assert shared  # members differing in the new knobs trained as one population
    base = copy.deepcopy(cfg)
    search = base.pop("search")
    space = parse_space(search["space"], base)
    data = load_data_for([validate_config(base)])
    for t in shared[:2]:
        alone = train_population([validate_config(space.apply(base, t["params"]))], data)
        m = alone.members[0]
        assert t["structure"]["sizes"][1:-1] == funnel_widths(
            8, t["params"]["model.hidden:layers"], 0.5
        )
        assert (t["epochs_run"], t["best_epoch"]) == (m.epochs_run, m.best_epoch)
        stored = [np.nan if v is None else v for v in t["history"]["val_loss"]]
        assert np.isnan(stored[0]) and np.isfinite(stored[1])  # validated every 2 epochs
        np.testing.assert_allclose(stored, m.history["val_loss"], rtol=1e-5)


def test_tune_trials_carry_the_gradient_monitor_warnings(tmp_path):
    cfg = iris_config()
    cfg["optimizer"] = {"name": "sgd"}
    cfg["train"]["epochs"] = 2
    cfg["search"].update({"strategy": "grid", "trials": 2})
    cfg["search"]["space"] = {"optimizer.lr": {"choice": [0.05, 1e12]}}
    result = caviar.tune(cfg, out=tmp_path / "run")
    by_lr = {float(t["params"]["optimizer.lr"]): t for t in result.trials}
    assert by_lr[1e12]["status"] == "diverged"
    assert any("exploding" in w for w in by_lr[1e12]["warnings"])
    assert by_lr[0.05]["warnings"] == []
