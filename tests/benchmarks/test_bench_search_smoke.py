"""Smoke test: benchmarks/search.py --quick runs end to end and ends with one JSON line."""

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "search.py"


def test_search_benchmark_quick(capsys):
    spec = importlib.util.spec_from_file_location("bench_search", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(["--quick", "--repeat", "2"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    summary = json.loads(last)
    assert summary["benchmark"] == "search" and summary["quick"] is True
    for ds in ("digits",):
        times = summary["all_seconds"][ds]
        assert all(len(times[k]) == 2 for k in ("caviar", "sklearn", "optuna_torch"))
        assert summary["speedup_vs_sklearn"][ds] > 0
        assert summary["speedup_vs_optuna_torch"][ds] > 0
        for tool in ("caviar", "caviar_halving", "sklearn", "optuna_torch"):
            assert 0 <= summary["val"][ds][tool] <= 1
            assert 0 <= summary["test"][ds][tool] <= 1
        # the oracle floor, when some configuration reached scikit-learn's best at all
        bound = summary["max_speedup_to_sklearn_best"][ds]
        assert bound is None or bound > 0
        # issue 30: each peer in its own process, never importing caviar, at a named setting
        for name, check in summary["peer_processes"][ds].items():
            assert check["own_process"] and check["caviar_modules"] == [], name
            assert not [k for k in check["environment"] if k.startswith("CAVIAR_")], name
        assert summary["peer_settings"][ds]["sklearn"] in ({"n_jobs": 1}, {"n_jobs": 2})
        assert summary["peer_settings"][ds]["optuna_torch"] in ({"threads": 1}, {"threads": 2})


def test_search_benchmark_rejects_bad_flags(capsys):
    import pytest

    spec = importlib.util.spec_from_file_location("bench_search", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    for argv in (["--repeat", "0"], ["--workers", "-1"], ["--halving-factor", "0"]):
        with pytest.raises(SystemExit) as e:
            mod.main(argv)
        assert e.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert f"{argv[0]} must be at least" in err
