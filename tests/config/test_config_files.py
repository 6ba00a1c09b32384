"""Config files: grid expansion, validation, one-line errors."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caviar.config import expand_configs, load_configs
from caviar.errors import CaviarError

BASE = {"data": {"source": "iris"}}


def test_single_config_defaults():
    (cfg,) = expand_configs(BASE)
    assert cfg.model.hidden == [64] and cfg.optimizer.name == "adam"


def test_grid_is_cartesian_product():
    raw = {
        **BASE,
        "optimizer": {"lr": [0.1, 0.01, 0.001]},
        "model": {"hidden": [[8], [16, 8]]},
        "train": {"seed": [0, 1]},
    }
    cfgs = expand_configs(raw)
    combos = {(c.optimizer.lr, tuple(c.model.hidden), c.train.seed) for c in cfgs}
    assert len(cfgs) == 12 == len(combos)


def test_hidden_list_is_a_value_not_an_axis():
    (cfg,) = expand_configs({**BASE, "model": {"hidden": [32, 16]}})
    assert cfg.model.hidden == [32, 16]


@given(st.lists(st.lists(st.floats(1e-6, 1.0), min_size=1, max_size=4), min_size=1, max_size=3))
def test_grid_covers_every_combination_once(axes):
    fields = ["lr", "weight_decay", "eps"][: len(axes)]
    raw = {**BASE, "optimizer": dict(zip(fields, axes, strict=False))}
    cfgs = expand_configs(raw)
    expected = 1
    for a in axes:
        expected *= len(a)
    assert len(cfgs) == expected


@pytest.mark.parametrize(
    "raw,needle",
    [
        ({**BASE, "optimizer": {"lr": -0.1}}, "optimizer.lr"),
        ({**BASE, "train": {"batch_size": 0}}, "batch size"),
        ({**BASE, "train": {"epochs": "ten"}}, "train.epochs"),
        ({**BASE, "optimizer": {"lrate": 0.1}}, "unknown field 'optimizer.lrate'"),
        ({"model": {}}, "missing required field 'data'"),
        ({**BASE, "optimizer": {"lr": []}}, "empty list"),
        ({**BASE, "loss": {"label_smoothing": 1.0}}, "loss.label_smoothing"),
        ({**BASE, "model": {"hidden": [0]}}, "hidden"),
    ],
)
def test_bad_values_give_one_line_errors(raw, needle):
    with pytest.raises(CaviarError) as e:
        expand_configs(raw)
    assert needle in str(e.value)
    assert "\n" not in str(e.value)


def test_file_errors(tmp_path):
    with pytest.raises(CaviarError, match="config file not found"):
        load_configs(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[data\nsource=1")
    with pytest.raises(CaviarError, match="invalid TOML") as e:
        load_configs(bad)
    assert "\n" not in str(e.value)


def test_load_file(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[data]\nsource = "iris"\n[optimizer]\nlr = [0.1, 0.2]\n')
    assert [c.optimizer.lr for c in load_configs(f)] == [0.1, 0.2]
