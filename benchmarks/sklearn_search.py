"""PopulationSearchCV vs scikit-learn's RandomizedSearchCV, side by side in one run.

Same estimator (CaviarClassifier), same sampled candidates (ParameterSampler with
one random_state), same folds (StratifiedKFold), same scorer. RandomizedSearchCV
fits every candidate x fold alone (n_jobs=1); PopulationSearchCV trains the
candidates of a fold as one population. Both skip the final refit so only the
search is timed.

    python benchmarks/sklearn_search.py            # 32 candidates x 3 folds on digits
    python benchmarks/sklearn_search.py --quick    # a few seconds (smoke test)

The last printed line is one JSON object: ``speed_ratio`` is sklearn seconds /
caviar seconds (> 1: the population search is faster).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from scipy.stats import loguniform, uniform
from sklearn.datasets import load_digits
from sklearn.model_selection import RandomizedSearchCV, StratifiedKFold

from caviar.sklearn import CaviarClassifier, PopulationSearchCV


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny run for smoke tests")
    parser.add_argument("--n-iter", type=int, default=32)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    X, y = load_digits(return_X_y=True)
    X = X / 16.0  # pixel range, not fitted on the data: no leak across folds
    if args.quick:
        X, y = X[:300], y[:300]
        args.n_iter, args.folds, args.epochs = 4, 2, 2

    est = CaviarClassifier(
        hidden_layer_sizes=(64,),
        epochs=args.epochs,
        batch_size=32,
        random_state=0,
        dtype=args.dtype,
    )
    space = {
        "learning_rate": loguniform(1e-4, 1e-1),
        "l2_kernel": loguniform(1e-6, 1e-2),
        "label_smoothing": uniform(0.0, 0.2),
        "beta1": uniform(0.8, 0.15),
    }
    common = {
        "n_iter": args.n_iter,
        "cv": StratifiedKFold(args.folds, shuffle=True, random_state=0),
        "random_state": 0,
        "refit": False,
    }
    start = time.perf_counter()
    ours = PopulationSearchCV(est, param_distributions=space, **common).fit(X, y)
    caviar_s = time.perf_counter() - start
    start = time.perf_counter()
    theirs = RandomizedSearchCV(est, space, n_jobs=1, **common).fit(X, y)
    sklearn_s = time.perf_counter() - start

    a, b = ours.cv_results_, theirs.cv_results_
    diff = float(np.max(np.abs(a["mean_test_score"] - b["mean_test_score"])))
    print(
        f"data: digits {X.shape}, {args.n_iter} candidates x {args.folds} folds, "
        f"{args.epochs} epochs, {args.dtype}"
    )
    print(
        f"PopulationSearchCV : {caviar_s:8.2f} s  ({ours.n_populations_} populations)  "
        f"best {ours.best_score_:.4f}"
    )
    print(f"RandomizedSearchCV : {sklearn_s:8.2f} s  best {theirs.best_score_:.4f}")
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
        "torch_threads": torch.get_num_threads(),
        "n_rows": int(X.shape[0]),
        "caviar_seconds": caviar_s,
        "sklearn_seconds": sklearn_s,
        "speed_ratio": sklearn_s / caviar_s,
        "caviar_best_score": float(ours.best_score_),
        "sklearn_best_score": float(theirs.best_score_),
        "same_keys": sorted(a) == sorted(b),
        "same_ranking": bool(np.array_equal(a["rank_test_score"], b["rank_test_score"])),
        "max_abs_mean_score_diff": diff,
        "n_populations": ours.n_populations_,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
