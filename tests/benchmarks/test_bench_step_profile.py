"""Smoke test: benchmarks/step_profile.py --quick profiles a step in both precisions and
ends with one JSON line whose shares and bounds are consistent."""

import json
import math
import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_step_profile_quick(run_quick):
    s = run_quick("step_profile")
    assert s["benchmark"] == "step_profile" and s["quick"] is True
    for name in ("fp32", "bf16"):
        p = s["per_precision"][name]
        assert p["steps"] > 0 and p["step_ms"] > 0
        assert 0 < p["products_ms"] <= p["profiled_step_ms"]
        assert math.isclose(sum(p["share"].values()), 1.0, abs_tol=1e-3)
        assert p["share"]["products"] > 0 and p["share"]["optimizer"] > 0
    assert s["products_share_fp32"] == s["per_precision"]["fp32"]["share"]["products"]
    assert s["gemm_peak_gflops"] > 0 and s["step_gflop"] > 0
    # each fraction is the step's product FLOPs over its own time, over the peak (the two
    # times come from different measurements -- the profiled step and the timed steps --
    # so their order is not asserted: under load either can be the slower)
    fp32 = s["per_precision"]["fp32"]
    for key, ms in (
        ("gemm_only_fraction_of_peak", fp32["products_ms"]),
        ("fp32_fraction_of_gemm_peak", fp32["step_ms"]),
    ):
        expected = s["step_gflop"] / (ms / 1e3) / s["gemm_peak_gflops"]
        assert s[key] > 0 and math.isclose(s[key], expected, rel_tol=5e-3, abs_tol=1e-3), key
    assert s["bf16_speedup_bound"] > 0 and s["speedup_bf16_vs_fp32_step"] > 0


def test_step_profile_prints_the_operator_table_before_its_json():
    proc = subprocess.run(
        [sys.executable, str(BENCHMARKS / "step_profile.py"), "--quick", "--table", "5"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert json.loads(lines[-1])["benchmark"] == "step_profile"
    for name in ("fp32", "bf16"):
        assert any(line.startswith(f"{name}: ") and line.endswith(" steps") for line in lines)
    assert sum("Self CPU" in line for line in lines) >= 2  # one table per precision
    assert any("aten::bmm" in line or "aten::baddbmm" in line for line in lines)
