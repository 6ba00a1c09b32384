"""Smoke test: benchmarks/ray_executor.py --quick runs end to end (in its own process:
it starts and stops its own Ray instances) and ends with one JSON line."""

import os

import pytest


def test_ray_executor_benchmark_quick(run_quick):
    pytest.importorskip("ray")
    summary = run_quick("ray_executor", env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    assert summary["benchmark"] == "ray_executor" and summary["quick"] is True
    assert summary["same_trials"] is True
    assert summary["overhead_ray1_vs_local"] > 0 and summary["speedup_ray2_vs_ray1"] > 0
