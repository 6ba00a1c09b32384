"""Smoke test: benchmarks/search_cv.py --quick (the cross-validated search against
RandomizedSearchCV(cv=5)) runs end to end and ends with one JSON line; search.py --cv
merges its keys."""

import importlib.util
import json
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_search_cv_benchmark_quick(run_quick):
    summary = run_quick("search_cv")
    assert summary["benchmark"] == "search_cv" and summary["quick"] is True
    assert summary["cv_folds"] == 5 and summary["speedup_cv_vs_sklearn"] > 0
    assert summary["speedup_cv_vs_sklearn"] == pytest.approx(
        summary["cv_sklearn_seconds"] / summary["cv_caviar_seconds"]
    )
    for tool in ("caviar", "sklearn"):
        assert 0 < summary["cv_val"][tool] <= 1 and 0 < summary["cv_test"][tool] <= 1
    check = summary["cv_peer_processes"]["sklearn"]  # issue 30: its own process, no caviar
    assert check["own_process"] and check["caviar_modules"] == []
    assert summary["cv_peer_settings"]["sklearn"] in ({"n_jobs": 1}, {"n_jobs": 2})


def test_search_cv_rejects_bad_flags(capsys):
    mod = _load("search_cv")
    for argv in (["--repeat", "0"], ["--configs", "0"]):
        with pytest.raises(SystemExit) as e:
            mod.main(argv)
        assert e.value.code == 2
        assert f"{argv[0]} must be at least" in capsys.readouterr().err


def test_search_py_cv_hook_merges_the_keys(monkeypatch, capsys):
    mod = _load("search")
    calls = []

    def fake_bench(source, n, epochs, *args):
        calls.append(source)
        return {"dataset": source, **{k: 1.0 for k in SEARCH_KEYS}}

    monkeypatch.setattr(mod, "bench", fake_bench)
    cv = _load("search_cv")
    monkeypatch.setattr(
        cv, "bench_cv", lambda n, epochs, repeat, workers: {"speedup_cv_vs_sklearn": 5.0, "n": n}
    )
    monkeypatch.setattr(mod, "_search_cv", lambda: cv)
    summary = mod.main(["--quick", "--cv"])
    assert summary["speedup_cv_vs_sklearn"] == 5.0 and summary["n"] == 6
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == summary


SEARCH_KEYS = (
    "speedup_vs_sklearn",
    "speedup_vs_optuna_torch",
    "halving_speedup_to_sklearn_best",
    "max_speedup_to_sklearn_best",
    "caviar_storage_fraction",
    "all_seconds",
    "val",
    "test",
)
