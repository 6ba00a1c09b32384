"""bf16 against fp32: final validation scores of the same 64 configurations, side by side.

Datasets: scikit-learn's digits and breast_cancer (accuracy), diabetes (regression, R²)
and a seeded synthetic 1-D signal set generated here (:func:`signal_set`: 4 classes of
32-sample signals, sine, square, sawtooth and chirp, random frequency, phase and
amplitude plus Gaussian noise). For each, 64 configurations (log-uniform learning rate in
[1e-4, 1e-2] and L2 kernel penalty in [1e-6, 1e-3], seed i; MLP 128-128, Adam, batch
64, no early stopping) train as one population with ``train.precision = "fp32"`` and
again with ``"bf16"`` (``caviar.nn.precision``). The last line is one JSON object:
per dataset the median over configurations of fp32 minus bf16 final validation score in
points (``accuracy_gap_points``, 100 x the score difference; target <= 0.5), the largest
absolute gap, both medians and the two wall times. ``--quick`` runs a smoke version.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import caviar  # noqa: F401  (first: torch must load after it, see caviar.openmp)

# isort: split
import numpy as np

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.training.trainer import train_population

SOURCES = ("digits", "breast_cancer", "diabetes", "signal")


def signal_set(path: Path, n: int = 2000, length: int = 32, seed: int = 0) -> Path:
    """Write the synthetic 1-D signal set (``X (n, length)``, ``y`` in 0..3) to ``path``."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, length)
    y = rng.integers(0, 4, n)
    freq = rng.uniform(1.0, 4.0, (n, 1))
    phase = rng.uniform(0.0, 2 * np.pi, (n, 1))
    amp = rng.uniform(0.5, 1.5, (n, 1))
    arg = 2 * np.pi * freq * t + phase
    waves = np.stack(
        [
            np.sin(arg),
            np.sign(np.sin(arg)),
            2 * ((arg / (2 * np.pi)) % 1.0) - 1,
            np.sin(2 * np.pi * freq * t * (1 + 2 * t) + phase),
        ]
    )
    X = amp * waves[y, np.arange(n)] + rng.normal(0.0, 0.3, (n, length))
    np.savez(path, X=X, y=y)
    return path


def configs(source: str, n: int, epochs: int, precision: str) -> list:
    rng = np.random.default_rng(0)
    out = []
    for i in range(n):
        out += expand_configs(
            {
                "data": {"source": source},
                "model": {"hidden": [128, 128], "init": "he_uniform"},
                "optimizer": {"name": "adam", "lr": float(10 ** rng.uniform(-4, -2))},
                "penalty": {"l2_kernel": float(10 ** rng.uniform(-6, -3))},
                "train": {
                    "epochs": epochs,
                    "batch_size": 64,
                    "patience": None,
                    "seed": i,
                    "precision": precision,
                },
            }
        )
    return out


def compare(source: str, data, n: int, epochs: int) -> dict:
    scores, seconds = {}, {}
    for precision in ("fp32", "bf16"):
        start = time.perf_counter()
        result = train_population(configs(source, n, epochs, precision), data)
        seconds[precision] = time.perf_counter() - start
        scores[precision] = np.array([m.history["val_score"][-1] for m in result.members])
    gap = 100 * (scores["fp32"] - scores["bf16"])
    return {
        "accuracy_gap_points": float(np.median(gap)),
        "max_abs_gap_points": float(np.max(np.abs(gap))),
        "median_fp32": float(np.median(scores["fp32"])),
        "median_bf16": float(np.median(scores["bf16"])),
        "seconds": seconds,
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a small smoke version")
    p.add_argument("--configs", type=int, default=64)
    p.add_argument("--epochs", type=int, default=30)
    args = p.parse_args(argv)
    if args.configs < 1 or args.epochs < 1:
        p.error("--configs and --epochs must be at least 1")
    n, epochs = (4, 2) if args.quick else (args.configs, args.epochs)
    sources = ("digits", "signal") if args.quick else SOURCES
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for source in sources:
            name = str(signal_set(Path(tmp) / "signal.npz")) if source == "signal" else source
            data = prepare_data(name, seed=0)
            results[source] = r = compare(name, data, n, epochs)
            print(
                f"{source:14s} median fp32 {r['median_fp32']:.4f} bf16 {r['median_bf16']:.4f} "
                f"gap {r['accuracy_gap_points']:+.2f} points (max |gap| "
                f"{r['max_abs_gap_points']:.2f}); {r['seconds']['fp32']:.1f} s fp32, "
                f"{r['seconds']['bf16']:.1f} s bf16",
                flush=True,
            )
    summary = {
        "benchmark": "precision_accuracy",
        "quick": args.quick,
        "configs": n,
        "epochs": epochs,
        "accuracy_gap_points": {s: r["accuracy_gap_points"] for s, r in results.items()},
        "max_abs_gap_points": {s: r["max_abs_gap_points"] for s, r in results.items()},
        "median_val": {s: [r["median_fp32"], r["median_bf16"]] for s, r in results.items()},
        "seconds": {s: r["seconds"] for s, r in results.items()},
        "target_gap_points": 0.5,
    }
    print(json.dumps(summary), flush=True)
    return summary


if __name__ == "__main__":
    main()
