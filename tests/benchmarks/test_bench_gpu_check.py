"""Smoke test: benchmarks/gpu_check.sh in its CPU mode (GPU_CHECK_DEVICE=cpu) runs both
steps and writes one JSON file; without a GPU and without that mode it refuses (exit 2)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.sh"


def _run(out: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(SCRIPT), str(out)],
        env={**os.environ, "PYTHON": sys.executable, **env},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_gpu_check_cpu_mode_writes_one_json(tmp_path):
    proc = _run(tmp_path / "out", GPU_CHECK_DEVICE="cpu")
    assert proc.returncode == 0, proc.stderr[-2000:] + proc.stdout[-2000:]
    summary = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    assert summary["benchmark"] == "gpu_check"
    assert summary["cuda_tests"]["exit_status"] == 0 and summary["cuda_tests"]["failed"] == []
    assert summary["cuda_tests"]["tests"] >= 10  # every cuda test was collected
    population = summary["population"]
    assert population["exit_status"] == 0 and population["device"] == "cpu"
    assert population["speedup_bf16_vs_fp32"] > 0 and "accuracy_gap_points" in population


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_gpu_check_without_a_gpu_is_an_error(tmp_path):
    proc = _run(tmp_path / "out")
    assert proc.returncode == 2 and proc.stderr.startswith("error: no CUDA device")
