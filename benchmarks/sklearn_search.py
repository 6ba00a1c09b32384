"""PopulationSearchCV vs scikit-learn's RandomizedSearchCV, side by side in one run.

Same estimator (CaviarClassifier), same sampled candidates (ParameterSampler with
one random_state), same folds (StratifiedKFold), same scorer. RandomizedSearchCV
fits every candidate x fold alone (at the faster of ``n_jobs`` 1 and 2); PopulationSearchCV
trains the candidates of a fold as one population. Both skip the final refit so only the
search is timed. Each search runs in its own fresh process (``benchmarks/fair.py``);
scikit-learn's search is the one peer that imports caviar, as it drives Caviar's own
estimator (``allow_caviar``), in the user's environment without Caviar's variables.

    python benchmarks/sklearn_search.py            # 32 candidates x 3 folds on digits
    python benchmarks/sklearn_search.py --quick    # a few seconds (smoke test)

The last printed line is one JSON object: ``speed_ratio`` is sklearn seconds /
caviar seconds (> 1: the population search is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fair  # noqa: E402  (benchmarks/ is no package)


def search(
    kind: str,
    quick: bool,
    n_iter: int,
    folds: int,
    epochs: int,
    dtype: str,
    threads: int | None,
    n_jobs: int = 1,
) -> dict:
    """One search in this (fresh) process: ``kind`` "population" (PopulationSearchCV)
    or "sklearn" (RandomizedSearchCV, ``n_jobs`` processes); its seconds and scores."""
    import time

    import torch
    from scipy.stats import loguniform, uniform
    from sklearn.datasets import load_digits
    from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold

    from caviar.sklearn import CaviarClassifier, PopulationSearchCV

    if threads:
        torch.set_num_threads(threads)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # pixel range, not fitted on the data: no leak across folds
    if quick:
        X, y = X[:300], y[:300]
    est = CaviarClassifier(
        hidden_layer_sizes=(64,), epochs=epochs, batch_size=32, random_state=0, dtype=dtype
    )
    space = {
        "learning_rate": loguniform(1e-4, 1e-1),
        "l2_kernel": loguniform(1e-6, 1e-2),
        "label_smoothing": uniform(0.0, 0.2),
        "beta1": uniform(0.8, 0.15),
    }
    common = {
        "n_iter": n_iter,
        "cv": StratifiedKFold(folds, shuffle=True, random_state=0),
        "random_state": 0,
        "refit": False,
    }
    if kind == "population":
        searcher = PopulationSearchCV(est, param_distributions=space, **common)
    else:
        searcher = RandomizedSearchCV(est, space, n_jobs=n_jobs, **common)
    start = time.perf_counter()
    searcher.fit(X, y)
    seconds = time.perf_counter() - start
    res = searcher.cv_results_
    return {
        "seconds": seconds,
        "keys": sorted(res),
        "mean_test_score": [float(v) for v in res["mean_test_score"]],
        "rank_test_score": [int(v) for v in res["rank_test_score"]],
        "best_score": float(searcher.best_score_),
        "n_populations": getattr(searcher, "n_populations_", None),
        "torch_threads": torch.get_num_threads(),
        "n_rows": int(X.shape[0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    parser.add_argument("--n-iter", type=int, default=32)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args()
    if args.quick:
        args.n_iter, args.folds, args.epochs = 4, 2, 2
    setup = {k: getattr(args, k) for k in ("quick", "n_iter", "folds", "epochs", "dtype")}
    setup["threads"] = args.threads
    ours = fair.run_caviar("sklearn_search.py:search", kwargs={**setup, "kind": "population"})
    theirs = fair.run_peer(
        "sklearn_search.py:search",
        kwargs={**setup, "kind": "sklearn"},
        settings=fair.SKLEARN_JOBS,
        allow_caviar=True,  # scikit-learn's own search over Caviar's estimator
    )
    caviar_s, sklearn_s = ours["seconds"], theirs["seconds"]
    diff = float(np.max(np.abs(np.subtract(ours["mean_test_score"], theirs["mean_test_score"]))))
    print(
        f"data: digits ({ours['n_rows']} rows), {args.n_iter} candidates x {args.folds} "
        f"folds, {args.epochs} epochs, {args.dtype}; each search in its own process, "
        f"load [1-min, runnable] {fair.load_average()}"
    )
    print(
        f"PopulationSearchCV : {caviar_s:8.2f} s  ({ours['n_populations']} populations)  "
        f"best {ours['best_score']:.4f}"
    )
    print(
        f"RandomizedSearchCV : {sklearn_s:8.2f} s  best {theirs['best_score']:.4f}  "
        f"{theirs['setting']}"
    )
    print(
        f"speed ratio (sklearn / caviar): {sklearn_s / caviar_s:.2f}x; "
        f"max |mean score diff| {diff:.2e}"
    )
    result = {
        "benchmark": "sklearn_search",
        "n_candidates": args.n_iter,
        "n_folds": args.folds,
        "epochs": args.epochs,
        "dtype": args.dtype,
        "torch_threads": ours["torch_threads"],
        "n_rows": ours["n_rows"],
        "load": fair.load_average(),
        "peer_settings": {"sklearn": theirs["setting"]},
        "peer_tries": {"sklearn": theirs["tried"]},
        "caviar_seconds": caviar_s,
        "sklearn_seconds": sklearn_s,
        "speed_ratio": sklearn_s / caviar_s,
        "caviar_best_score": ours["best_score"],
        "sklearn_best_score": theirs["best_score"],
        "same_keys": ours["keys"] == theirs["keys"],
        "same_ranking": ours["rank_test_score"] == theirs["rank_test_score"],
        "max_abs_mean_score_diff": diff,
        "n_populations": ours["n_populations"],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
