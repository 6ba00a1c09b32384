"""Configs, CLI flags and Python API arguments of the wrong kind are refused up front with
one line naming the parameter: booleans where numbers are expected, seeds outside
[0, 2^32), absurd trial budgets, networks too large for memory, callbacks without hooks,
changes of the wrong type, data=(X, y), out=123, negative sample weights."""

import numpy as np
import pytest

import caviar
from caviar.cli.main import main
from caviar.config import validate_config
from caviar.errors import CaviarError
from caviar.training.callbacks import Callback
from caviar.tuning.settings import parse_settings

BASE = {"data": {"source": "iris"}, "model": {"hidden": [4]}, "train": {"epochs": 1}}


def _with(section: str, **fields) -> dict:
    raw = {k: dict(v) for k, v in BASE.items()}
    raw.setdefault(section, {}).update(fields)
    return raw


def _one_line(fn, *parts):
    with pytest.raises(CaviarError) as info:
        fn()
    msg = str(info.value)
    assert "\n" not in msg
    for part in parts:
        assert part in msg, msg
    return msg


@pytest.mark.parametrize(
    "section,field,value",
    [
        ("optimizer", "lr", True),
        ("train", "epochs", True),
        ("train", "patience", False),
        ("model", "hidden", [8, True]),
        ("penalty", "l2_kernel", True),
    ],
)
def test_booleans_are_no_numbers(section, field, value):
    _one_line(
        lambda: validate_config(_with(section, **{field: value})),
        f"{section}.{field}",
        "expected a number, got a boolean",
    )


def test_boolean_fields_still_take_booleans():
    cfg = validate_config(_with("model", batch_norm=True))
    assert cfg.model.batch_norm is True


@pytest.mark.parametrize(
    "section,field,value",
    [("train", "seed", -1), ("train", "seed", 2**64 + 1), ("data", "seed", 2**32),
     ("train", "shuffle_seed", -5)],
)  # fmt: skip
def test_seeds_outside_the_generators_range_are_refused(section, field, value):
    _one_line(lambda: validate_config(_with(section, **{field: value})), f"{section}.{field}")
    assert validate_config(_with(section, **{field: 2**32 - 1}))  # the largest seed is fine


@pytest.mark.parametrize(
    "search,part",
    [
        ({"trials": 5, "seed": -1}, "search: seed"),
        ({"trials": 10**7 + 1}, "search: trials"),
        ({"trials": True}, "expected a number, got a boolean"),
    ],
)
def test_search_settings_refuse_bad_seeds_budgets_and_booleans(search, part):
    _one_line(lambda: parse_settings({"strategy": "random", **search}), part)
    assert parse_settings({"strategy": "random", "trials": 10**7}).trials == 10**7


def test_cli_seed_minus_one_is_refused_before_anything_is_written(tmp_path, capsys):
    cfg = tmp_path / "s.toml"
    cfg.write_text(
        '[data]\nsource = "iris"\n[model]\nhidden = [4]\n[train]\nepochs = 1\n'
        '[search]\nstrategy = "random"\ntrials = 2\n'
        '[search.space]\n"optimizer.lr" = { log_uniform = [1e-3, 1e-1] }\n'
    )
    assert main(["tune", str(cfg), "-o", str(tmp_path / "run"), "--seed", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "seed" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_a_network_too_large_for_memory_is_refused_before_allocation(monkeypatch):
    _one_line(lambda: caviar.train(_with("model", hidden=[10**9, 10**9])), "GiB", "is free")
    import caviar.training.memory_check as memory_check

    monkeypatch.setattr(memory_check, "available_bytes", lambda device: 16 * 2**30)
    msg = _one_line(
        lambda: caviar.train(_with("model", hidden=[100_000_000])),
        "model.hidden [100000000]",
        "GiB",
        "16.0 GiB is free on cpu",
    )
    need = float(msg.split("needs at least ")[1].split(" GiB")[0])
    # 8e8 parameters x 5 copies + 32 x 1e8 activations x 3, 4 bytes each: about 53 GiB
    assert need == pytest.approx(4 * (5 * 800_000_303 + 3 * 32 * 100_000_003) / 2**30, rel=1e-2)


class NoHooks:
    pass


def test_train_arguments_of_the_wrong_kind_name_the_parameter(tmp_path):
    X, y = np.zeros((10, 4)), np.zeros(10)
    cases = [
        ({"callbacks": [NoHooks()]}, "callbacks[0]"),
        ({"callbacks": Callback()}, "callbacks must be a list"),
        ({"changes": "lr=0.1"}, "changes must be a list"),
        ({"changes": [{"epoch": 1}]}, "changes[0] must be a dict with keys"),
        ({"changes": [{"epoch": "1", "member": 0, "path": "optimizer.lr", "new": 0.1}]},
         "changes[0]: epoch and member must be integers"),
        ({"data": (X, y)}, "prepare_arrays(X, y)"),
        ({"live_dir": 123}, "live_dir must be a path"),
    ]  # fmt: skip
    for kwargs, part in cases:
        _one_line(lambda kwargs=kwargs: caviar.train(BASE, **kwargs), part)


def test_tune_arguments_of_the_wrong_kind_name_the_parameter(tmp_path):
    space = {"optimizer.lr": {"log_uniform": [1e-3, 1e-1]}}
    search = {**BASE, "search": {"strategy": "random", "trials": 1, "space": space}}
    X, y = np.zeros((10, 4)), np.zeros(10)
    _one_line(lambda: caviar.tune(search, out=123), "out must be a path", "int")
    _one_line(lambda: caviar.tune(search, out=tmp_path / "a", data=(X, y)), "prepare_arrays")
    _one_line(lambda: caviar.tune(search, out=tmp_path / "b", callbacks=Callback()), "callbacks")
    assert list(tmp_path.iterdir()) == []


def test_estimators_refuse_negative_sample_weights():
    from caviar.sklearn import CaviarClassifier

    X, y = np.random.default_rng(0).normal(size=(20, 3)), np.arange(20) % 2
    w = np.ones(20)
    w[3] = -1.0
    with pytest.raises(ValueError, match="sample_weight"):
        CaviarClassifier(hidden_layer_sizes=(4,), epochs=1).fit(X, y, sample_weight=w)
