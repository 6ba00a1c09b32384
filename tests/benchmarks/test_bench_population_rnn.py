"""Smoke test: benchmarks/population_rnn.py --quick runs caviar and its two peers (each peer
in its own process, which never imports caviar) and ends with one JSON line of ratios
(seconds are not asserted)."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "population_rnn.py"
PEERS = BENCH.with_name("population_rnn_peers.py")


def _module():
    spec = importlib.util.spec_from_file_location("bench_population_rnn", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_population_rnn_benchmark_quick(capsys):
    _module().main(["--quick", "--repeat", "2"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["benchmark"] == "population_rnn" and summary["quick"] is True
    assert summary["threads"] == 1 and summary["configs"] == 3 and summary["hidden"] == 64
    assert summary["speedup_vs_loop"] > 0 and summary["speedup_vs_naive_vmap"] > 0
    assert summary["cpu_speedup_vs_loop"] > 0 and summary["cpu_speedup_vs_naive_vmap"] > 0
    assert all(s > 0 for s in summary["cpu_seconds"].values())
    for name in ("caviar", "loop", "naive_vmap"):
        assert len(summary["all_seconds"][name]) == 2
        assert summary["seconds"][name] == min(summary["all_seconds"][name])
        low, high = summary["val_accuracy_range"][name]
        assert 0 <= low <= high <= 1
    for peer in ("loop", "naive_vmap"):  # own processes that never imported caviar
        assert summary["processes"][peer]["own_process"] is True
        assert summary["processes"][peer]["caviar_modules"] == []
    # the same members from the same weights on the same batches: the same accuracies
    for diff in summary["max_accuracy_difference_vs_caviar"].values():
        assert 0 <= diff <= 0.05


def test_the_peers_never_import_caviar():
    code = (
        # as benchmarks/fair.py's bootstrap runs a peer: its folder first on sys.path
        "import runpy, sys; sys.argv = ['peers', '--help']\n"
        f"sys.path.insert(0, {str(PEERS.parent)!r})\n"
        f"try: runpy.run_path({str(PEERS)!r}, run_name='__main__')\n"
        "except SystemExit: pass\n"
        "print(any(m == 'caviar' or m.startswith('caviar.') for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_population_rnn_benchmark_rejects_bad_flags(capsys):
    mod = _module()
    for argv in (["--repeat", "0"], ["--configs", "0"], ["--threads", "0"], ["--length", "4"]):
        with pytest.raises(SystemExit) as e:
            mod.main(argv)
        assert e.value.code == 2
        assert f"{argv[0]} must be at least" in capsys.readouterr().err.strip().splitlines()[-1]
