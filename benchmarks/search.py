"""Hyperparameter search, side by side in one run: caviar tune vs scikit-learn vs Optuna.

For each dataset (digits, breast_cancer), the same split (``caviar.data.prepare_data``,
standardized on train), the same search space and the same ``N`` configurations
(drawn once by caviar's random strategy, seed 0), each trained for the same
``E`` epochs with Adam, batch 64, no early stopping:

1. ``caviar tune`` without pruning (populations, one vectorized program each);
2. scikit-learn ``RandomizedSearchCV(MLPClassifier, n_jobs)`` over exactly those
   ``N`` configurations (all parameters given as lists, so it samples them without
   replacement), scored on the same validation split (``PredefinedSplit``);
3. Optuna driving a sequential PyTorch objective (one ``nn.Sequential`` per trial),
   the ``N`` configurations enqueued;
4. ``caviar tune`` with successive halving (min 1 epoch, eta 3) on ``H N``
   configurations (``--halving-factor H``, the same ``N`` first), timed until a member's
   validation accuracy reaches scikit-learn's best (that member keeps those weights as
   its best, so a search stopped then, e.g. by ``--time-budget``, returns them; the time
   until a *finished* trial holds that score is reported too), against the time
   scikit-learn needed to reach that best: measured, with a second "score" that reads
   the clock when the best candidate is scored in its worker (the older estimate, its
   position in the dispatch order times the wall time / N, is printed too);
5. a floor for step 4 (``max_speedup_to_sklearn_best``): of the equal-work run's
   configurations, the one that reached scikit-learn's best validation accuracy in the
   fewest epochs, trained again alone (a population of one) until it reaches it. No
   search on this engine can beat a search that already knows that configuration, so
   scikit-learn's time to its best over this time bounds the halving speedup.

Every contestant is given the same prepared splits (loading and standardizing the data
is outside every clock) and its imports happen before its clock starts (for caviar that
includes the modules of Optuna's SQLite storage: SQLAlchemy, Alembic; opening and
writing the study is timed). Each search's best configuration is scored once on the test
split. The last line printed is one JSON object with the ratios, the accuracies and
caviar's storage share of wall time (the time the search waited for the study; writes
run in a background thread). ``--quick`` runs a small smoke version; ``--repeat R`` runs
every contestant R times, interleaved, and keeps each one's fastest run (all times are
printed). Every contestant runs in its own fresh process (``benchmarks/fair.py``):
caviar one population after another (``--workers 1``, its fastest on a quiet machine:
measured 1.19 s against 1.20 s on digits and 0.32 s against 0.36 s on breast_cancer with
two side by side; caviar's own default, one per core, is what holds up on a busy
machine) on its default torch threads (``--threads N`` sets another number); the peers
(``search_peers.py``, which never imports caviar, in the user's environment without
Caviar's variables) at the faster of ``n_jobs`` 1 and 2 (scikit-learn, its worker pool
started before its clock) and of 1 and 2 intra-op threads (the sequential PyTorch
objective; ``--peer-threads`` fixes one), named in ``peer_settings``.

Notes: scikit-learn's ``alpha`` is its L2 weight (on its own scale: the penalty is
``alpha/(2 n) ||W||^2``), fed the same sampled values as caviar's ``l2_kernel``;
accuracies of the three implementations therefore differ somewhat.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fair  # noqa: E402  (benchmarks/ is no package)
from search_peers import (  # noqa: E402, F401  (search_cv.py
    BATCH,  # and search_anytime.py use the peers through this module)
    finished_at,
    run_optuna_torch,
    run_sklearn,
    validation_search,
    warm_sklearn_workers,
)

SPACE = {
    "optimizer.lr": {"log_uniform": [1e-4, 1e-1]},
    "optimizer.beta1": {"one_minus_log_uniform": [0.8, 0.99]},
    "penalty.l2_kernel": {"log_uniform": [1e-6, 1e-2]},
    "model.hidden": {"choice": [[64], [128]]},
}


def base_config(source: str, n: int, epochs: int, **search) -> dict:
    return {
        "data": {"source": source, "seed": 0},
        "model": {"hidden": [64], "activation": "relu", "output_init": "default"},
        "loss": {"name": "cross_entropy"},
        "optimizer": {"name": "adam"},
        "train": {"epochs": epochs, "batch_size": BATCH, "patience": None},
        "search": {"strategy": "random", "trials": n, "seed": 0, "space": SPACE, **search},
    }


def sample_configs(n: int) -> list[dict]:
    """The N configurations caviar's random strategy draws for seed 0 (round 0)."""
    from caviar.tuning.search import round_rng
    from caviar.tuning.space import parse_space
    from caviar.tuning.strategies import RandomStrategy

    space = parse_space(SPACE, {"data": {"source": "iris"}})
    return RandomStrategy().suggest(space, [], n, round_rng(0, 0))


def first_time_reaching(trace: list[tuple[float, float]], target: float) -> float | None:
    for seconds, score in trace:
        if score >= target - 1e-12:
            return seconds
    return None


def fastest(runs: list[dict], key: str = "seconds") -> dict:
    """The run with the smallest ``key`` (None counts as slowest), its ``key`` values listed."""
    best = min(runs, key=lambda r: math.inf if r[key] is None else r[key])
    return {**best, f"all_{key}": [r[key] for r in runs]}


def bench(
    source: str,
    n: int,
    epochs: int,
    peer_threads: int | None = None,
    halving_factor: int = 3,
    repeat: int = 1,
    workers: int | None = 1,
    threads: int | None = None,
) -> dict:
    """Every contestant ``repeat`` times, interleaved, each in its own process
    (``benchmarks/fair.py``); the peers at their best setting."""
    from caviar.data import prepare_data

    data = fair.portable(prepare_data(source, seed=0))
    configs = sample_configs(n)
    peer = {"data": data, "configs": configs, "epochs": epochs}
    torch_settings = [{"threads": peer_threads}] if peer_threads else fair.TORCH_THREADS
    own = {"source": source, "epochs": epochs, "workers": workers, "threads": threads}
    halving = {"halving": {"min_epochs": 1, "eta": 3}}
    runs: dict[str, list[dict]] = {"cav": [], "skl": [], "opt": [], "sh": []}
    for _ in range(repeat):  # interleaved, so a slow spell of the machine hits every one
        runs["cav"].append(
            fair.run_caviar("search_caviar.py:caviar_search", kwargs={**own, "n": n})
        )
        runs["skl"].append(
            fair.run_peer("search_peers.py:run_sklearn", kwargs=peer, settings=fair.SKLEARN_JOBS)
        )
        runs["opt"].append(
            fair.run_peer("search_peers.py:run_optuna_torch", kwargs=peer, settings=torch_settings)
        )
        runs["sh"].append(
            fair.run_caviar(
                "search_caviar.py:caviar_search", kwargs={**own, "n": halving_factor * n, **halving}
            )
        )
    cav, skl, opt = (fastest(runs[k]) for k in ("cav", "skl", "opt"))
    for r in runs["sh"]:  # each halving run against scikit-learn's best score
        r["reach"] = first_time_reaching(r["epoch_trace"], skl["val"])
    sh = fastest(runs["sh"], "reach")
    reach = sh["reach"]
    reach_trial = first_time_reaching(sh["trace"], skl["val"])
    oracle = fastest(
        [
            fair.run_caviar(
                "search_caviar.py:oracle_contestant",
                kwargs={
                    "source": source,
                    "epochs": epochs,
                    "trials": cav["trials"],
                    "target": skl["val"],
                },
            )
            for _ in range(repeat)
        ]
    )
    out = {
        "dataset": source,
        "configs": n,
        "epochs": epochs,
        "repeat": repeat,
        "all_seconds": {
            "caviar": cav["all_seconds"],
            "sklearn": skl["all_seconds"],
            "optuna_torch": opt["all_seconds"],
            "halving_reach": sh["all_reach"],
        },
        "caviar_seconds": cav["seconds"],
        "sklearn_seconds": skl["seconds"],
        "optuna_torch_seconds": opt["seconds"],
        "speedup_vs_sklearn": skl["seconds"] / cav["seconds"],
        "speedup_vs_optuna_torch": opt["seconds"] / cav["seconds"],
        "caviar_storage_fraction": cav["storage_seconds"] / cav["seconds"],
        "caviar_storage_busy_fraction": cav["storage_busy_seconds"] / cav["seconds"],
        "halving_configs": halving_factor * n,
        "halving_seconds": sh["seconds"],
        "halving_counts": sh["counts"],
        "sklearn_time_to_best": skl["time_to_best"],
        "sklearn_time_to_best_estimate": skl["time_to_best_estimate"],
        "halving_time_to_sklearn_best": reach,
        "halving_speedup_to_sklearn_best": (skl["time_to_best"] / reach) if reach else None,
        "halving_trial_time_to_sklearn_best": reach_trial,
        "oracle_time_to_sklearn_best": oracle["seconds"],
        "oracle_epochs": oracle["epochs"],
        "peer_settings": {"sklearn": skl["setting"], "optuna_torch": opt["setting"]},
        "peer_processes": fair.process_checks(sklearn=skl, optuna_torch=opt),
        "max_speedup_to_sklearn_best": (
            skl["time_to_best"] / oracle["seconds"] if oracle["seconds"] else None
        ),
        "val": {
            "caviar": cav["val"],
            "caviar_halving": sh["val"],
            "sklearn": skl["val"],
            "optuna_torch": opt["val"],
        },
        "test": {
            "caviar": cav["test"],
            "caviar_halving": sh["test"],
            "sklearn": skl["test"],
            "optuna_torch": opt["test"],
        },
    }
    print(json.dumps(out), flush=True)
    return out


def run_anytime(quick: bool, repeat: int) -> dict:
    """``benchmarks/search_anytime.py`` in its own process: its headline keys and all of
    its JSON under ``anytime``."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).with_name("search_anytime.py")
    cmd = [sys.executable, str(script), "--repeat", str(repeat), *(["--quick"] if quick else [])]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"error: {script.name} failed: {proc.stderr.strip()[-1000:]}")
    anytime = json.loads(proc.stdout.strip().splitlines()[-1])
    keys = ("configs_per_peer_time_ratio", "best_val_at_peer_time")
    return {**{k: anytime[k] for k in keys}, "anytime": anytime}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick", action="store_true", help="digits only, 6 configurations x 2 epochs (smoke)"
    )
    p.add_argument("--configs", type=int, default=64)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch intra-op threads for caviar (default: torch's own, all cores; pass 1 "
        "on a machine shared with other jobs, where extra threads spin; scikit-learn "
        "always gets n_jobs=2 processes)",
    )
    p.add_argument(
        "--peer-threads",
        type=int,
        default=None,
        help="torch intra-op threads of the sequential PyTorch objective (default: the "
        "faster of 1 and 2, each tried in its own process)",
    )
    p.add_argument(
        "--halving-factor",
        type=int,
        default=3,
        help="successive halving searches this many times --configs configurations",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="caviar's populations side by side (default 1: one after another on all "
        "cores, its fastest on a quiet machine; caviar's own default, one per core, holds "
        "up on a busy one); 0 means caviar's default",
    )
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run every contestant this many times (interleaved) and keep each one's fastest run",
    )
    p.add_argument(
        "--anytime",
        action="store_true",
        help="also run benchmarks/search_anytime.py (quality per second) and merge its keys",
    )
    p.add_argument(
        "--cv",
        action="store_true",
        help="also run benchmarks/search_cv.py (search.cv = 5 against RandomizedSearchCV(cv=5) "
        "on digits) and merge its keys (speedup_cv_vs_sklearn, ...) into the last line",
    )
    args = p.parse_args(argv)
    fair.check_at_least(p, args, {"repeat": 1, "halving_factor": 1, "workers": 0,
                                  "configs": 1, "epochs": 1})  # fmt: skip
    n, epochs = (6, 2) if args.quick else (args.configs, args.epochs)
    sources = ("digits",) if args.quick else ("digits", "breast_cancer")
    results = [
        bench(
            s,
            n,
            epochs,
            args.peer_threads,
            args.halving_factor,
            args.repeat,
            args.workers or None,
            args.threads,
        )
        for s in sources
    ]
    summary = {
        "benchmark": "search",
        "quick": args.quick,
        "torch_threads": args.threads or "caviar's default",
        "peer_settings": {r["dataset"]: r.get("peer_settings") for r in results},
        "peer_processes": {r["dataset"]: r.get("peer_processes") for r in results},
        "load": fair.load_average(),
        "configs": n,
        "epochs": epochs,
        "halving_factor": args.halving_factor,
        "repeat": args.repeat,
        "caviar_workers": args.workers or None,
        "speedup_vs_sklearn": {r["dataset"]: r["speedup_vs_sklearn"] for r in results},
        "speedup_vs_optuna_torch": {r["dataset"]: r["speedup_vs_optuna_torch"] for r in results},
        "halving_speedup_to_sklearn_best": {
            r["dataset"]: r["halving_speedup_to_sklearn_best"] for r in results
        },
        "max_speedup_to_sklearn_best": {
            r["dataset"]: r["max_speedup_to_sklearn_best"] for r in results
        },
        "caviar_storage_fraction": {r["dataset"]: r["caviar_storage_fraction"] for r in results},
        "all_seconds": {r["dataset"]: r["all_seconds"] for r in results},
        "val": {r["dataset"]: r["val"] for r in results},
        "test": {r["dataset"]: r["test"] for r in results},
        "targets": {
            "equal_work_speedup": 4.0,
            "storage_fraction": 0.05,
            "configs_per_peer_time_ratio": 10.0,  # --anytime (replaces "20x sooner")
        },
    }
    if args.anytime:
        summary.update(run_anytime(args.quick, args.repeat))
    if args.cv:  # the cross-validated search (benchmarks/search_cv.py)
        summary.update(_search_cv().bench_cv(n, epochs, args.repeat, args.workers or None))
    print(json.dumps(summary), flush=True)
    return summary


def _search_cv():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).with_name("search_cv.py")
    spec = importlib.util.spec_from_file_location("caviar_bench_search_cv", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


if __name__ == "__main__":
    main()
