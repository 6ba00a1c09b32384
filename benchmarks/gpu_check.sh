#!/usr/bin/env bash
# Check caviar's CUDA path in one command (issue 17), in under 8 minutes on one GPU:
#   1. the `cuda`-marked tests (float64 reference backprop, population independence in
#      fp32/bf16/tf32, CPU vs CUDA in float64, halving, PBT, `caviar predict --device cuda`);
#   2. benchmarks/population.py --device cuda --precision bf16: a population of 1,024
#      configurations in fp32 and in bf16, the sequential-PyTorch baseline on the same GPU
#      (timed on --peer-sample configurations and scaled to 1,024), the fp32 and bf16
#      torch.bmm peaks measured in the same run.
# Writes ONE JSON file, $OUT/gpu_check.json (OUT: first argument, else $OUT, else
# ./gpu-check-out), next to the logs. Exit status 0 when the tests passed and the
# benchmark ran, 1 otherwise, 2 when no CUDA device is visible.
#   usage: benchmarks/gpu_check.sh [OUT_DIR]     (PYTHON=... picks the interpreter)
# GPU_CHECK_DEVICE=cpu runs the same steps on the CPU with a small population (the cuda
# tests then skip): a smoke test of this script on a machine without a GPU.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT_DIR=${1:-${OUT:-./gpu-check-out}}
mkdir -p "$OUT_DIR"
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
DEVICE=${GPU_CHECK_DEVICE:-cuda}
SIZE=(--configs 1024 --epochs 10 --peer-sample 8)
if [ "$DEVICE" = cpu ]; then
    SIZE=(--configs 8 --epochs 2 --peer-sample 2)
elif ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "error: no CUDA device visible to torch ($PYTHON)" >&2
    exit 2
fi
START=$(date +%s)
timeout 270 "$PYTHON" -m pytest -q -p no:cacheprovider -m cuda tests \
    --junitxml "$OUT_DIR/cuda_tests.xml" >"$OUT_DIR/cuda_tests.log" 2>&1
TESTS_RC=$?
timeout 330 "$PYTHON" benchmarks/population.py --device "$DEVICE" "${SIZE[@]}" \
    --precision bf16 >"$OUT_DIR/population_cuda.log" 2>&1
BENCH_RC=$?
"$PYTHON" - "$OUT_DIR" "$TESTS_RC" "$BENCH_RC" "$(( $(date +%s) - START ))" <<'PY'
import json, sys, xml.etree.ElementTree as ET
from pathlib import Path

import torch

out, tests_rc, bench_rc, seconds = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
tests = {"exit_status": tests_rc}
try:
    suite = ET.parse(out / "cuda_tests.xml").getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    for key in ("tests", "failures", "errors", "skipped"):
        tests[key] = int(suite.get(key, 0))
    tests["failed"] = [
        f"{case.get('classname')}::{case.get('name')}"
        for case in suite.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    ]
except (OSError, ET.ParseError) as e:
    tests["error"] = f"no test report: {e}"
population = {"exit_status": bench_rc}
lines = (out / "population_cuda.log").read_text().strip().splitlines()
try:
    population.update(json.loads(lines[-1]))
except (IndexError, json.JSONDecodeError):
    population["error"] = (lines[-1] if lines else "no output")[:500]
summary = {
    "benchmark": "gpu_check",
    "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
    "torch": torch.__version__,
    "seconds": seconds,
    "cuda_tests": tests,
    "population": population,
    "targets": {"speedup_vs_torch_sequential": 50.0, "bf16_fraction_of_bf16_gemm_peak": 0.5},
}
(out / "gpu_check.json").write_text(json.dumps(summary, indent=1))
print(json.dumps(summary))
ok = tests_rc == 0 and bench_rc == 0 and not tests.get("failed")
sys.exit(0 if ok else 1)
PY
