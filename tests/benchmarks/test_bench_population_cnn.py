"""Smoke test: benchmarks/population_cnn.py --quick runs its three contestants and ends
with one JSON line carrying the ratios (seconds are not asserted)."""

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "population_cnn.py"


def _module():
    spec = importlib.util.spec_from_file_location("bench_population_cnn", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_population_cnn_benchmark_quick(capsys):
    _module().main(["--quick", "--repeat", "2", "--threads", "1"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["benchmark"] == "population_cnn" and summary["quick"] is True
    assert summary["threads"] == 1 and summary["configs"] == 4
    assert summary["speedup_vs_torch_sequential"] > 0 and summary["speedup_vs_naive_vmap"] > 0
    assert summary["training_gflop"] > 0
    assert all(rate > 0 for rate in summary["gflop_per_second"].values())
    for name in ("caviar", "torch_sequential", "naive_vmap"):
        assert len(summary["all_seconds"][name]) == 2
        assert summary["seconds"][name] == min(summary["all_seconds"][name])
        low, high = summary["val_accuracy_range"][name]
        assert 0 <= low <= high <= 1
    # the same members from the same weights on the same batches: close accuracies
    for diff in summary["max_accuracy_difference_vs_caviar"].values():
        assert 0 <= diff <= 0.05
    # issue 30: each peer in its own process, never importing caviar, at a named setting
    for name in ("torch_sequential", "naive_vmap"):
        check = summary["peer_processes"][name]
        assert check["own_process"] and check["caviar_modules"] == [], name
        assert summary["peer_settings"][name] in ({"threads": 1}, {"threads": 2})


def test_population_cnn_benchmark_rejects_bad_flags(capsys):
    mod = _module()
    for argv in (["--repeat", "0"], ["--configs", "0"], ["--threads", "0"], ["--length", "4"]):
        with pytest.raises(SystemExit) as e:
            mod.main(argv)
        assert e.value.code == 2
        assert f"{argv[0]} must be at least" in capsys.readouterr().err.strip().splitlines()[-1]
