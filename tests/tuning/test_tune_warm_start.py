"""Warm starts: enqueued configurations are the first trials; ``--from RUN`` hands another
run's finished trials to the adaptive strategy; bad input is one line, nothing written."""

import json
import subprocess
import sys

import pytest
from tests.tuning.tune_helpers import iris_config, write_toml

from caviar.errors import CaviarError
from caviar.tuning import tune

GOOD = [
    {"optimizer.lr": 0.01, "optimizer.beta1": 0.9, "model.hidden": [16]},
    {"optimizer.lr": 0.05},  # the other dimensions: the strategy's suggestion
]


@pytest.mark.parametrize("strategy", ["random", "tpe", "cmaes"])
def test_enqueued_configurations_are_the_first_trials(tmp_path, strategy):
    cfg = iris_config(strategy=strategy, trials=6, batch=3, enqueue=GOOD)
    plain = iris_config(strategy=strategy, trials=6, batch=3)
    with pytest.warns() if strategy == "cmaes" else _nothing():
        result = tune(cfg, out=tmp_path / "run")
    by_index = {t["index"]: t["params"] for t in result.trials}
    assert by_index[0]["optimizer.lr"] == 0.01 and by_index[0]["optimizer.beta1"] == 0.9
    assert json.loads(by_index[0]["model.hidden"]) == [16] or by_index[0]["model.hidden"] == [16]
    assert by_index[1]["optimizer.lr"] == 0.05
    if strategy == "random":  # the rest is the sequence the strategy suggests anyway
        base = {t["index"]: t["params"] for t in tune(plain, out=tmp_path / "p").trials}
        assert by_index[1]["optimizer.beta1"] == base[1]["optimizer.beta1"]
        assert all(by_index[i] == base[i] for i in range(2, 6))


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_enqueue_from_a_json_file_beside_the_config(tmp_path):
    (tmp_path / "start.json").write_text(json.dumps(GOOD[:1]))
    cfg_path = write_toml(tmp_path / "t.toml", iris_config(trials=3, enqueue="start.json"))
    result = tune(cfg_path, out=tmp_path / "run")
    first = next(t for t in result.trials if t["index"] == 0)
    assert first["params"]["optimizer.lr"] == 0.01


@pytest.mark.parametrize(
    "search, message",
    [
        ({"enqueue": [{"optimizer.lr": 5.0}]}, "search.enqueue[0].optimizer.lr: 5.0 is outside"),
        ({"enqueue": [{"optimizer.momentum": 0.5}]}, "'optimizer.momentum' is not a dimension"),
        ({"enqueue": [{"model.hidden": [32]}]}, "[32] is not one of"),
        ({"enqueue": [{"optimizer.lr": "fast"}]}, "'fast' is not a number"),
        ({"enqueue": [{}]}, "a table of dimension = value"),
        ({"enqueue": "missing.json"}, "search.enqueue: cannot read"),
        ({"enqueue": GOOD, "strategy": "grid"}, "grid enumerates its own points"),
        ({"warm_start": "nowhere", "strategy": "tpe"}, "not a run directory"),
        ({"warm_start": "x", "strategy": "random"}, "does not learn from earlier trials"),
    ],
)
def test_bad_warm_starts_are_one_line_errors(tmp_path, search, message):
    out = tmp_path / "run"
    with pytest.raises(CaviarError) as e:
        tune(iris_config(trials=4, **search), out=out)
    assert message in str(e.value) and "\n" not in str(e.value)
    assert not out.exists()


def test_from_run_seeds_the_adaptive_strategy(tmp_path):
    first = tune(iris_config(strategy="random", trials=6), out=tmp_path / "a")
    assert len(first.trials) == 6
    tpe = {"strategy": "tpe", "trials": 4, "batch": 4, "sampler": {"n_startup_trials": 4}}
    cold = tune(iris_config(**tpe), out=tmp_path / "cold")
    warm = tune(iris_config(**tpe, warm_start=str(tmp_path / "a")), out=tmp_path / "warm")
    # with 6 earlier trials TPE is past its 4 random startup trials: other suggestions
    params = lambda r: sorted(json.dumps(t["params"], sort_keys=True) for t in r.trials)  # noqa: E731
    assert params(cold) != params(warm)
    # the earlier trials are seen, not copied: the new study holds only its own 4
    assert sorted(t["index"] for t in warm.trials) == [0, 1, 2, 3]


def test_from_run_with_another_space_is_refused(tmp_path):
    tune(iris_config(trials=2), out=tmp_path / "a")
    cfg = iris_config(strategy="tpe", trials=2, warm_start=str(tmp_path / "a"))
    cfg["search"]["space"].pop("optimizer.beta1")
    with pytest.raises(CaviarError, match="differs from this search's"):
        tune(cfg, out=tmp_path / "b")
    assert not (tmp_path / "b").exists()


def test_cli_from_flag(tmp_path):
    tune(iris_config(trials=3), out=tmp_path / "a")
    cfg = write_toml(tmp_path / "t.toml", iris_config(strategy="tpe", trials=2))
    cmd = [
        sys.executable,
        "-m",
        "caviar",
        "tune",
        str(cfg),
        "-o",
        str(tmp_path / "b"),
        "-q",
        "--from",
        str(tmp_path / "a"),
        "--json",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    bad_cmd = [*cmd[:7], "--from", str(tmp_path / "none")]
    bad = subprocess.run(bad_cmd, capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert "not a run directory" in bad.stderr
