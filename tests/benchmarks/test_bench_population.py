"""The population benchmark runs and ends with one JSON line carrying its ratios."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_population_benchmark_quick():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "population.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("speedup_vs_torch_sequential", "speedup_vs_sklearn", "fraction_of_gemm_peak"):
        assert result[key] > 0
    for name in ("caviar", "torch_sequential", "sklearn"):
        low, high = result["val_accuracy_range"][name]
        assert 0 <= low <= high <= 1
