"""Peak memory of a large sweep against ``search.memory_budget_mb``.

The sweep of issue 13: ``--configs`` (default 2,000) random configurations of a
512-512 network on digits with ``memory_budget_mb = 128`` (populations of 16
members), ``--epochs`` each. Prints the resident set size (RSS) after every
population and the peak against

    bound = 2 * (budget + data + baseline)

(``baseline``: the interpreter with caviar, torch and the data loaded, before the
search; ``data``: the bytes of the prepared splits). The last line is one JSON object:
``peak_rss_mb``, ``budget_mb``, ``baseline_mb``, ``data_mb``,
``peak_rss_over_budget_model`` (peak / (budget + data + baseline), the target is
at most 2), ``growth_mb_per_population`` (least-squares slope of RSS over the second
half of the populations: bounded memory means about 0) and ``populations``.

    python benchmarks/memory.py [--configs 2000] [--epochs 1] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def rss_mb() -> float:
    """Current resident set size (``/proc/self/statm``), MiB."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def config(configs: int, epochs: int, budget_mb: float) -> dict:
    return {
        "data": {"source": "digits", "seed": 0},
        "model": {"hidden": [512, 512]},
        "optimizer": {"name": "adam"},
        "train": {"epochs": epochs, "batch_size": 32, "patience": 100},
        "search": {
            "strategy": "random",
            "trials": configs,
            "seed": 0,
            "memory_budget_mb": budget_mb,
            "space": {"optimizer.lr": {"log_uniform": [1e-4, 1e-1]}},
        },
    }


def long_search(trials: int) -> dict:
    """RSS over a search of ``trials`` tiny trials (module docstring)."""
    from caviar.tuning.runner import tune

    cfg = {
        "data": {"source": "iris", "seed": 0},
        "model": {"hidden": [2]},
        "optimizer": {"name": "sgd"},
        "train": {"epochs": 1, "batch_size": "full", "patience": None},
        "search": {
            "strategy": "random",
            "trials": trials,
            "seed": 0,
            "max_population": 512,
            "memory_budget_mb": 4096,
            "space": {"optimizer.lr": {"log_uniform": [1e-4, 1e-1]}},
        },
    }
    after: list[float] = []  # RSS at each progress report once 1,000 trials are done
    first_done = 0

    def on_progress(info: dict) -> None:
        nonlocal first_done
        if info["done"] >= min(1000, trials // 2):
            first_done = first_done or info["done"]
            after.append(rss_mb())

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tune(cfg, out=os.path.join(tmp, "run"), on_progress=on_progress, outputs=False)
    seconds = time.perf_counter() - start
    growth = max(after) - after[0] if after else float("nan")
    print(
        f"long search: {trials} trials in {seconds:.0f}s; RSS {after[0]:.0f} MiB after "
        f"{first_done} trials, growth {growth:+.1f} MiB after that (target < 50)",
        file=sys.stderr,
    )
    return {
        "trials": trials,
        "rss_after_first_mb": round(after[0], 1),
        "first_trials": first_done,
        "rss_growth_mb": round(growth, 1),
        "seconds": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=2000, help="configurations (trials)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per configuration")
    parser.add_argument("--budget-mb", type=float, default=128.0, help="memory_budget_mb")
    parser.add_argument("--workers", type=int, default=1, help="populations side by side")
    parser.add_argument(
        "--long-search", type=int, default=None, help="trials of the long-search case (0: skip)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke size: 160 configs")
    args = parser.parse_args(argv)
    if args.quick:  # 10 populations: the second half's slope is past the allocator's warm-up
        args.configs = 160
    if args.long_search is None:
        args.long_search = 1500 if args.quick else 20000
    if args.long_search < 0:
        parser.error("--long-search must be >= 0")
    for name in ("configs", "epochs", "workers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1")
    if args.budget_mb <= 0:
        parser.error("--budget-mb must be > 0")

    from caviar.api import load_data_for
    from caviar.config import validate_config
    from caviar.tuning.dispatch import ExecutorSpec
    from caviar.tuning.runner import tune

    cfg = config(args.configs, args.epochs, args.budget_mb)
    base = validate_config({k: v for k, v in cfg.items() if k != "search"})
    data = load_data_for([base])
    data_mb = (
        sum(
            a.nbytes
            for a in (data.X_train, data.y_train, data.X_val, data.y_val, data.X_test, data.y_test)
        )
        / 2**20
    )
    import torch  # noqa: F401 - loaded before the baseline is read

    baseline = rss_mb()
    samples: list[float] = []

    def on_progress(info: dict) -> None:
        samples.append(rss_mb())
        print(
            f"{info['done']:>6} trials  rss {samples[-1]:8.1f} MiB  peak {peak_mb():8.1f} MiB",
            file=sys.stderr,
            flush=True,
        )

    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tune(
            cfg,
            out=os.path.join(tmp, "run"),
            data=data,
            on_progress=on_progress,
            executor=ExecutorSpec(name="local", workers=args.workers),
            verbose=0,  # no progress bar in a measurement
        )
    seconds = time.perf_counter() - start
    peak = peak_mb()
    long = long_search(args.long_search) if args.long_search else None
    model = args.budget_mb + data_mb + baseline
    half = samples[len(samples) // 2 :]
    slope = 0.0
    if len(half) >= 2:
        import numpy as np

        slope = float(np.polyfit(np.arange(len(half)), half, 1)[0])
    print(
        f"{args.configs} configurations, {len(samples)} populations, {seconds:.0f}s: peak RSS "
        f"{peak:.0f} MiB; budget {args.budget_mb:.0f} + data {data_mb:.1f} + baseline "
        f"{baseline:.0f} = {model:.0f} MiB; peak / that = {peak / model:.2f} (target <= 2); "
        f"RSS growth over the second half {slope:+.2f} MiB per population"
    )
    print(
        json.dumps(
            {
                "configs": args.configs,
                "populations": len(samples),
                "peak_rss_mb": round(peak, 1),
                "budget_mb": args.budget_mb,
                "baseline_mb": round(baseline, 1),
                "data_mb": round(data_mb, 2),
                "peak_rss_over_budget_model": round(peak / model, 3),
                "growth_mb_per_population": round(slope, 3),
                "seconds": round(seconds, 1),
                "long_search": long,
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
