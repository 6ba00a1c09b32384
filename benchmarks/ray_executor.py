"""The Ray executor against the local one, side by side in one run, on one sweep.

One ``caviar tune`` sweep (digits, ``N`` random configurations x ``E`` epochs,
populations of at most ``P`` members, so several populations) runs three times
with the same seed, torch at one intra-op thread everywhere:

1. ``local``: the default executor, populations one after another in this process;
2. ``ray1``: ``--executor ray`` on a local Ray instance with 1 CPU (one worker
   process at a time): its ratio to ``local`` is the executor's overhead
   (object store, task scheduling, results shipped back);
3. ``ray2``: the same with 2 CPUs (two worker processes): ``ray1 / ray2`` is the
   speed-up of a second worker.

Ray starts before each timed search and a small warm-up sweep starts its worker
processes (they import torch once); both are once-per-cluster costs, reported
separately. The timed part is ``caviar.tune`` itself, including putting the data
in the object store and shipping the weights back; each timing is the best of
``--repeat`` runs (the machine is shared: its load average is reported too).
Every run must give the same trials (checked). The last line printed is one
JSON object. ``--quick``: a smoke version.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time

SPACE = {
    "optimizer.lr": {"log_uniform": [1e-4, 1e-1]},
    "optimizer.beta1": {"one_minus_log_uniform": [0.8, 0.99]},
    "model.hidden": {"choice": [[64], [128]]},
}


def sweep(trials: int, epochs: int, max_population: int) -> dict:
    return {
        "data": {"source": "digits", "seed": 0},
        "model": {"hidden": [64]},
        "optimizer": {"name": "adam"},
        "train": {"epochs": epochs, "batch_size": 64, "patience": 1000},
        "search": {
            "strategy": "random",
            "trials": trials,
            "seed": 0,
            "max_population": max_population,
            "space": SPACE,
        },
    }


def timed(cfg: dict, executor) -> tuple[float, list]:
    import caviar

    out = tempfile.mkdtemp(prefix="cvbench")
    try:
        t = time.perf_counter()
        res = caviar.tune(cfg, out=out, executor=executor, outputs=False)  # the search alone
        seconds = time.perf_counter() - t
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return seconds, sorted((x["index"], x["val_score"]) for x in res.trials)


def best_of(repeat: int, cfg: dict, executor) -> tuple[float, list]:
    runs = [timed(cfg, executor) for _ in range(repeat)]
    assert all(r[1] == runs[0][1] for r in runs)
    return min(r[0] for r in runs), runs[0][1]


def with_ray(cpus: int, cfg: dict, repeat: int) -> tuple[float, float, list]:
    import logging

    import ray

    from caviar.tune.dispatch import ExecutorSpec

    t = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False,
             logging_level=logging.WARNING)  # fmt: skip
    try:
        warm = sweep(2 * cpus, 1, 1)
        warm["search"]["space"] = {"optimizer.lr": SPACE["optimizer.lr"]}
        timed(warm, ExecutorSpec("ray"))  # start the worker processes
        startup = time.perf_counter() - t
        seconds, trials = best_of(repeat, cfg, ExecutorSpec("ray"))
    finally:
        ray.shutdown()
    return startup, seconds, trials


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args(argv)
    import os

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    trials, epochs, pmax = (4, 2, 1) if args.quick else (64, 30, 8)
    repeat = 1 if args.quick else args.repeat
    cfg = sweep(trials, epochs, pmax)
    local_s, local_trials = best_of(repeat, cfg, "local")
    print(f"local: {local_s:.2f}s")
    start1, ray1_s, ray1_trials = with_ray(1, cfg, repeat)
    print(f"ray, 1 worker: {ray1_s:.2f}s (ray start {start1:.1f}s)")
    start2, ray2_s, ray2_trials = with_ray(2, cfg, repeat)
    print(f"ray, 2 workers: {ray2_s:.2f}s (ray start {start2:.1f}s)")
    same = local_trials == ray1_trials == ray2_trials
    summary = {
        "benchmark": "ray_executor",
        "quick": args.quick,
        "sweep": {"data": "digits", "trials": trials, "epochs": epochs, "max_population": pmax},
        "seconds": {"local": local_s, "ray1": ray1_s, "ray2": ray2_s},
        "ray_startup_seconds": {"ray1": start1, "ray2": start2},
        "overhead_ray1_vs_local": ray1_s / local_s,
        "speedup_ray2_vs_ray1": ray1_s / ray2_s,
        "same_trials": same,
        "load_average_1min": os.getloadavg()[0],
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
