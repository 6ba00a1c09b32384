"""Search strategies at an equal budget: Optuna's samplers asked a round at a time.

The task: scikit-learn's digits (the bundled 8x8 images as 64 features), an MLP with
Adam, batch 64, 15 epochs, no early stopping; the space is the learning rate
(log-uniform 1e-4..1e-1), Adam's beta1 (1 - log-uniform 0.8..0.99), the L2 penalty
(log-uniform 1e-6..1e-2) and the widths as a funnel (first layer 32..256 units, 1 or 2
layers, each ``shrink`` 0.5..1 times the one before: three numeric dimensions, so every
sampler models all of them; widths are structural, each its own population).
Every strategy gets 64 configurations in 4 rounds of 16 (a round trains as
populations; the adaptive strategies see the finished rounds): ``random``, ``tpe``,
``gp`` (Gaussian process), ``cmaes`` and ``qmc`` (scrambled Sobol), each with search
seeds 0, 1, 2 on the same data split. Reported per strategy and seed: the best
validation accuracy of the 64, the test accuracy of the chosen model and the wall
time of the search; the JSON's ``mean_best_val`` and ``mean_seconds`` average over the
seeds and ``seconds_vs_random`` divides by random's. Caviar against itself, so all
contestants run in this one process (no peer). ``--quick``: iris, 8 configurations,
2 rounds, 2 epochs, one seed. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
import warnings

STRATEGIES = ("random", "tpe", "gp", "cmaes", "qmc")
SPACE = {
    "optimizer.lr": {"log_uniform": [1e-4, 1e-1]},
    "optimizer.beta1": {"one_minus_log_uniform": [0.8, 0.99]},
    "penalty.l2_kernel": {"log_uniform": [1e-6, 1e-2]},
    "model.hidden": {"funnel": {"first": [32, 256], "layers": [1, 2], "shrink": [0.5, 1.0]}},
}


def config(source: str, strategy: str, seed: int, trials: int, batch: int, epochs: int) -> dict:
    sampler = {"scramble": True} if strategy == "qmc" else {}
    return {
        "data": {"source": source, "seed": 0},
        "model": {"hidden": [64], "activation": "relu"},
        "optimizer": {"name": "adam"},
        "train": {"epochs": epochs, "batch_size": 64, "patience": None},
        "search": {
            "strategy": strategy,
            "trials": trials,
            "batch": batch,
            "seed": seed,
            "sampler": sampler,
            "space": SPACE,
        },
    }


def run_one(cfg: dict) -> dict:
    from caviar.errors import CaviarWarning
    from caviar.tuning import tune

    out = tempfile.mkdtemp(prefix="caviar-samplers-")
    try:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CaviarWarning)
            r = tune(cfg, out=out, outputs=False)
        seconds = time.perf_counter() - start
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {"best_val": r.val_score, "test": r.test_score, "seconds": seconds}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke-size run")
    parser.add_argument("--strategies", nargs="+", default=list(STRATEGIES), choices=STRATEGIES)
    args = parser.parse_args(argv)
    source, trials, batch, epochs, seeds = (
        ("iris", 8, 4, 2, [0]) if args.quick else ("digits", 64, 16, 15, [0, 1, 2])
    )
    runs: dict[str, list[dict]] = {s: [] for s in args.strategies}
    print(f"{'strategy':<8} {'seed':>4} {'best val':>9} {'test':>6} {'seconds':>8}")
    for seed in seeds:  # interleaved: every strategy sees the same load drift
        for strategy in args.strategies:
            r = run_one(config(source, strategy, seed, trials, batch, epochs))
            runs[strategy].append({"seed": seed, **r})
            print(
                f"{strategy:<8} {seed:>4} {r['best_val']:>9.4f} {r['test']:>6.4f} "
                f"{r['seconds']:>8.1f}",
                flush=True,
            )

    def mean(s: str, key: str) -> float:
        return sum(r[key] for r in runs[s]) / len(runs[s])

    summary = {
        "benchmark": "search_samplers",
        "quick": args.quick,
        "dataset": source,
        "trials": trials,
        "rounds": trials // batch,
        "load_average": os.getloadavg()[0],
        "mean_best_val": {s: mean(s, "best_val") for s in runs},
        "mean_test": {s: mean(s, "test") for s in runs},
        "mean_seconds": {s: mean(s, "seconds") for s in runs},
        "runs": runs,
    }
    if "random" in runs:
        summary["seconds_vs_random"] = {
            s: mean(s, "seconds") / mean("random", "seconds") for s in runs
        }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
