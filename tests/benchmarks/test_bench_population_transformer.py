"""Smoke test: benchmarks/population_transformer.py --quick runs caviar and its two peers
(each peer in its own process) and ends with one JSON line carrying the ratios (seconds
are not asserted)."""

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "population_transformer.py"


def _module():
    sys.path.insert(0, str(BENCH.parent))
    spec = importlib.util.spec_from_file_location("bench_population_transformer", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_population_transformer_benchmark_quick(run_quick):
    summary = run_quick("population_transformer")
    assert summary["benchmark"] == "population_transformer" and summary["quick"] is True
    assert summary["threads"] == 1 and summary["configs"] == 3
    assert summary["speedup_vs_torch_sequential"] > 0 and summary["speedup_vs_naive_vmap"] > 0
    assert len(summary["load_average"]) == 4
    assert all(len(load) == 2 for load in summary["load_average"])  # [1-min load, runnable]
    assert summary["cpu_speedup_vs_torch_sequential"] > 0
    assert summary["cpu_speedup_vs_naive_vmap"] > 0
    for name in ("caviar", "torch_sequential", "naive_vmap"):
        assert summary["seconds"][name] == min(summary["all_seconds"][name]) > 0
        assert summary["cpu_seconds"][name] > 0
        low, high = summary["val_accuracy_range"][name]
        assert 0 <= low <= high <= 1


def test_the_peers_never_import_caviar():
    for name in ("population_transformer_peers.py", "peer_loops.py"):
        source = (BENCH.parent / name).read_text()
        assert "caviar" not in "".join(
            line for line in source.splitlines() if line.startswith(("import", "from"))
        )


def test_population_transformer_benchmark_rejects_bad_flags(capsys):
    mod = _module()
    for argv in (["--repeat", "0"], ["--configs", "0"], ["--threads", "0"], ["--length", "1"]):
        with pytest.raises(SystemExit) as e:
            mod.main(argv)
        assert e.value.code == 2
        assert f"{argv[0]} must be at least" in capsys.readouterr().err.strip().splitlines()[-1]
