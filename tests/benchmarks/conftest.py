"""Shared by the benchmark smoke tests: run ``benchmarks/NAME.py --quick`` in its own
process and return its last printed line, which every benchmark makes one JSON object."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _run_quick(name: str, env: dict | None = None) -> dict:
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / f"{name}.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=900,  # each contestant starts its own process (benchmarks/fair.py)
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture
def run_quick():
    """``run_quick(name, env=None) -> dict``: the benchmark's final JSON line."""
    return _run_quick
