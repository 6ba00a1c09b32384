"""Smoke test: benchmarks/search_anytime.py --quick runs end to end, ends with one JSON
line holding the anytime keys, writes its plot; search.py --anytime merges those keys."""

import importlib.util
import json
import math
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_search_anytime_quick(tmp_path, capsys):
    summary = _load("search_anytime").main(["--quick", "--repeat", "2", "--out", str(tmp_path)])
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last == json.loads(json.dumps(summary))
    assert summary["benchmark"] == "search_anytime" and summary["quick"] is True
    n_peer, n_cav = summary["peer_configs"], summary["caviar_configs"]
    assert (n_peer, n_cav) == (6, 16 * 6)
    assert summary["peer_seconds"] > 0
    evaluated = summary["evaluated_at_peer_time"]
    # scikit-learn's fastest run has scored all of its candidates at its own wall time
    assert evaluated["sklearn"] == n_peer
    assert 0 <= evaluated["caviar"] <= n_cav
    assert summary["configs_per_peer_time_ratio"] == evaluated["caviar"] / n_peer
    for name in ("caviar", "sklearn"):
        best = summary["best_val_at_peer_time"][name]
        assert best is None or 0 <= best <= 1
        runs = summary["all_runs"][name]
        assert len(runs) == 2 and all(r["seconds"] > 0 and 0 <= r["final_val"] <= 1 for r in runs)
        curve = [v for v in summary["anytime"][name].values() if v is not None]
        assert curve == sorted(curve)  # best so far never falls
    assert summary["best_val_at_peer_time"]["sklearn"] == max(
        r["final_val"] for r in summary["all_runs"]["sklearn"]
    )
    html = Path(summary["plot"])
    check = summary["peer_processes"]["sklearn"]  # issue 30: its own process, no caviar
    assert check["own_process"] and check["caviar_modules"] == []
    assert html.parent == tmp_path and "plotly" in html.read_text()[:100000].lower()


def test_curve_helpers():
    mod = _load("search_anytime")
    curve = mod.running_max([(2.0, 0.5), (1.0, 0.6), (3.0, 0.7), (4.0, math.nan)])
    assert curve == [(1.0, 0.6), (2.0, 0.6), (3.0, 0.7), (4.0, 0.7)]
    assert mod.value_at(curve, 0.5, -1.0) == -1.0
    assert mod.value_at(curve, 2.5) == 0.6 and mod.value_at(curve, 10.0) == 0.7


def test_search_anytime_rejects_bad_flags(capsys):
    mod = _load("search_anytime")
    for argv in (["--repeat", "0"], ["--halving-factor", "0"], ["--epochs", "0"]):
        with pytest.raises(SystemExit) as e:
            mod.main(argv)
        assert e.value.code == 2
        assert f"{argv[0]} must be at least 1" in capsys.readouterr().err


def test_search_hook_merges_anytime_keys(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # its plot goes to ./runs/benchmarks
    keys = _load("search").run_anytime(quick=True, repeat=1)
    assert keys["anytime"]["benchmark"] == "search_anytime"
    assert keys["configs_per_peer_time_ratio"] == keys["anytime"]["configs_per_peer_time_ratio"]
    assert set(keys["best_val_at_peer_time"]) == {"caviar", "sklearn"}
