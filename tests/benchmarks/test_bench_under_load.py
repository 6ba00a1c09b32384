"""Smoke test: benchmarks/under_load.py --quick times the Quickstart search quiet and beside
one CPU-bound process it starts (and stops), ending with one JSON line."""

import pytest


def test_under_load_benchmark_quick(run_quick):
    summary = run_quick("under_load")
    assert summary["benchmark"] == "under_load" and summary["quick"] is True
    assert summary["fair_share"] == {"1": (1 + summary["cores"]) / summary["cores"]}
    quiet, loaded = (summary["seconds"]["caviar"]["tune"][k][0] for k in ("0", "1"))
    assert 0 < quiet < float("inf") and 0 < loaded < float("inf")
    assert summary["slowdown_under_load"]["tune"]["1"] == loaded / quiet


def _under_load():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "under_load.py"
    spec = importlib.util.spec_from_file_location("bench_under_load", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_policies_are_compared_against_quiet_active(monkeypatch, capsys):
    # issue 30: each policy's run sets CAVIAR_WAIT_POLICY (and nothing of the user's wait
    # settings); quiet_vs_active and the slowdowns are ratios to quiet ACTIVE
    mod = _under_load()
    fake = {("active", 0): 10.0, ("active", 1): 40.0, ("passive", 0): 13.0, ("passive", 1): 14.0}
    fake |= {("1000", 0): 10.2, ("1000", 1): 14.5}
    envs = []

    def measure(entry, quick, env, timeout):
        envs.append(env)
        return fake[(env["CAVIAR_WAIT_POLICY"], len(mod.start_load.calls))], 1.0

    def start_load(n, seconds):
        mod.start_load.calls[:] = [None] * n
        return []

    start_load.calls = []
    monkeypatch.setattr(mod, "measure", measure)
    monkeypatch.setattr(mod, "start_load", start_load)
    monkeypatch.setattr(mod.time, "sleep", lambda s: None)
    monkeypatch.setattr(mod.os, "sched_getaffinity", lambda pid: {0, 1})
    out = mod.main(["--policies", "active,PASSIVE,1000", "--entries", "train", "--loads", "1"])
    assert {e["CAVIAR_WAIT_POLICY"] for e in envs} == {"active", "passive", "1000"}
    policies = out["policies"]
    assert policies["active"]["train"]["quiet_vs_active"] == 1.0
    assert policies["passive"]["train"]["quiet_vs_active"] == 10.0 / 13.0
    assert policies["1000"]["train"]["slowdown"] == {"1": 1.45}
    assert policies["active"]["train"]["within_fair_share"] == {"1": False}  # 4.0 > 1.5
    assert policies["1000"]["train"]["within_fair_share"] == {"1": True}
    with pytest.raises(SystemExit):
        mod.main(["--policies", "fast"])
    assert "--policies takes" in capsys.readouterr().err
