"""Cross-validated search, side by side in one run: caviar tune (search.cv = 5) vs
scikit-learn's RandomizedSearchCV(cv=5).

On digits (``caviar.data.prepare_data``, standardized on train, outside every clock),
the same ``N`` configurations that ``benchmarks/search.py`` compares (drawn once by
caviar's random strategy, seed 0; its space, Adam, batch 64, ``E`` epochs, no early
stopping), each scored by 5-fold cross-validation of train+validation on the SAME folds
(caviar's, ``caviar.data.folds.cv_splits``: stratified, seeded, equal held-out folds,
handed to scikit-learn as an explicit list of splits):

1. ``caviar tune`` with ``search.cv = 5``: every population trains configurations x
   folds as one vectorized program; then the best configuration is refit on all of
   train+validation for its mean best epoch count (inside the clock);
2. scikit-learn ``RandomizedSearchCV(MLPClassifier, cv=folds, n_jobs, refit=True)``
   over exactly those ``N`` configurations (all parameters given as lists, so it samples
   them without replacement); its worker pool is started before the clock, and its
   refit of the best candidate on train+validation is inside the clock, as caviar's.

Each search runs in its own fresh process (``benchmarks/fair.py``): caviar at its
default torch threads (``--threads`` sets them), scikit-learn (``search_peers.py``, which
never imports caviar, in the user's environment without Caviar's variables) at the
faster of ``n_jobs`` 1 and 2 (``cv_peer_settings``).

Each search's final model is scored once on the test split. The last line printed is
one JSON object with ``speedup_cv_vs_sklearn`` (scikit-learn's wall time over caviar's;
target >= 4), the fold-mean validation accuracies and the test accuracies.
``--quick`` runs a smoke version (6 configurations x 2 epochs); ``--repeat R`` runs both
R times, interleaved, and keeps each one's fastest run (all times are printed).
``benchmarks/search.py --cv`` runs this too and merges its keys into its own line.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fair  # noqa: E402  (benchmarks/ is no package)

FOLDS = 5
TARGET = 4.0


def _search_module():
    """``benchmarks/search.py`` (its space, configurations and helpers)."""
    name = "caviar_bench_search"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("search.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def run_caviar_cv(data, n: int, epochs: int, workers: int | None = 1) -> dict:
    from caviar.tuning.dispatch import ExecutorSpec
    from caviar.tuning.runner import tune
    from caviar.tuning.storage import import_backend

    search = _search_module()
    import_backend()  # modules only (as the peer's imports), before the clock starts
    out = tempfile.mkdtemp(prefix="caviar-bench-cv-")
    try:
        start = time.perf_counter()
        r = tune(
            search.base_config("digits", n, epochs, cv=FOLDS),
            out=out,
            data=data,
            executor=ExecutorSpec(workers=workers),
            outputs=False,
            verbose=0,
        )
        wall = time.perf_counter() - start
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {"seconds": wall, "val": r.val_score, "test": r.test_score, "counts": r.counts}


def caviar_cv(n: int, epochs: int, workers: int | None, threads: int | None) -> dict:
    """Caviar's side in its own process (:func:`fair.run_caviar`): digits prepared before
    the clock, its default torch threads unless ``--threads``."""
    import torch

    from caviar.data import prepare_data

    if threads:
        torch.set_num_threads(threads)
    return run_caviar_cv(prepare_data("digits", seed=0), n, epochs, workers)


def sklearn_cv_arguments(data, configs: list[dict], epochs: int) -> dict:
    """The peer's keyword arguments: train+validation rows, caviar's folds (stratified,
    data.seed 0), the test rows, the configurations (``search_peers.run_sklearn_cv``)."""
    from caviar.data.folds import cv_splits

    X, y = data.train_val()
    train_rows, val_rows = cv_splits(y, FOLDS, data.task, 0)
    folds = list(zip(train_rows, val_rows, strict=True))
    return {"X": X, "y": y, "X_test": data.X_test, "y_test": data.y_test, "folds": folds,
            "configs": configs, "epochs": epochs}  # fmt: skip


def bench_cv(
    n: int, epochs: int, repeat: int = 1, workers: int | None = 1, threads: int | None = None
) -> dict:
    """Both searches ``repeat`` times (interleaved), each in its own process, the peer at
    the faster of ``n_jobs`` 1 and 2; the fastest run of each."""
    from caviar.data import prepare_data

    search = _search_module()
    peer = sklearn_cv_arguments(prepare_data("digits", seed=0), search.sample_configs(n), epochs)
    own = {"n": n, "epochs": epochs, "workers": workers, "threads": threads}
    runs: dict[str, list[dict]] = {"cav": [], "skl": []}
    for _ in range(repeat):  # interleaved, so a slow spell of the machine hits both
        runs["cav"].append(fair.run_caviar("search_cv.py:caviar_cv", kwargs=own))
        runs["skl"].append(
            fair.run_peer("search_peers.py:run_sklearn_cv", kwargs=peer, settings=fair.SKLEARN_JOBS)
        )
    cav, skl = (search.fastest(runs[k]) for k in ("cav", "skl"))
    out = {
        "cv_folds": FOLDS,
        "cv_configs": n,
        "cv_epochs": epochs,
        "cv_caviar_seconds": cav["seconds"],
        "cv_sklearn_seconds": skl["seconds"],
        "cv_all_seconds": {"caviar": cav["all_seconds"], "sklearn": skl["all_seconds"]},
        "speedup_cv_vs_sklearn": skl["seconds"] / cav["seconds"],
        "cv_val": {"caviar": cav["val"], "sklearn": skl["val"]},
        "cv_test": {"caviar": cav["test"], "sklearn": skl["test"]},
        "cv_target_speedup": TARGET,
        "cv_peer_settings": {"sklearn": skl["setting"]},
        "cv_peer_processes": fair.process_checks(sklearn=skl),
    }
    print(json.dumps(out), flush=True)
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="6 configurations x 2 epochs (smoke)")
    p.add_argument("--configs", type=int, default=64)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (caviar)")
    p.add_argument(
        "--workers", type=int, default=1, help="caviar's populations side by side (0: default)"
    )
    p.add_argument("--repeat", type=int, default=1, help="runs of each (fastest kept)")
    args = p.parse_args(argv)
    fair.check_at_least(p, args, {"repeat": 1, "workers": 0, "configs": 1, "epochs": 1})
    n, epochs = (6, 2) if args.quick else (args.configs, args.epochs)
    summary = {
        "benchmark": "search_cv",
        "quick": args.quick,
        "repeat": args.repeat,
        "torch_threads": args.threads or "caviar's default",
        "load": fair.load_average(),
        **bench_cv(n, epochs, args.repeat, args.workers or None, args.threads),
    }
    print(json.dumps(summary), flush=True)
    return summary


if __name__ == "__main__":
    main()
