"""Smoke test: benchmarks/ray_executor.py --quick runs end to end (in its own process:
it starts and stops its own Ray instances) and ends with one JSON line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "ray_executor.py"


def test_ray_executor_benchmark_quick():
    pytest.importorskip("ray")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    res = subprocess.run(
        [sys.executable, str(BENCH), "--quick"], capture_output=True, text=True, env=env
    )
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["benchmark"] == "ray_executor" and summary["quick"] is True
    assert summary["same_trials"] is True
    assert summary["overhead_ray1_vs_local"] > 0 and summary["speedup_ray2_vs_ray1"] > 0
