"""Smoke test: benchmarks/regularization.py --quick runs and ends with one JSON line."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "regularization.py"


def test_regularization_benchmark_quick():
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    last = json.loads(proc.stdout.strip().splitlines()[-1])
    assert last["benchmark"] == "regularization"
    assert set(last["ratio_vs_plain"]) == {"dropout", "batch_norm", "augment", "all"}
    assert all(v > 0 for v in last["ratio_vs_plain"].values())
