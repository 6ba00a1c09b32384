"""Gradient-boosted trees (and a linear model) beside the network (:ref:`bg-baselines`: the
algorithm is a hyperparameter -- try another model class before tuning this one for
long).

scikit-learn's ``HistGradientBoostingClassifier`` / ``HistGradientBoostingRegressor``
(default settings, ``random_state = 0``; one regressor per target column for several
targets; one OpenMP thread: on a busy machine its default thread pool was measured 37x
slower on iris, 48x on digits) is fitted on the same training split (the same
preprocessed inputs the network sees) and scored on the validation and test splits
with the run's metric (``train.metric`` / ``search.metric``: accuracy or R² for
``auto``, else the named metric on the trees' class probabilities or values, as the
network is scored; :mod:`caviar.training.scoring.model`). The verdict compares it
with the network's validation score ``net`` (both higher-is-better), and the reason
adds a linear model (logistic / ridge regression on the same inputs) and by how much
the network is ahead of or behind the better of the two:

* ``trees > net + MARGIN``: "a network is not the best tool here";
* otherwise the network holds its own against the trees.
"""

from __future__ import annotations

import math

import numpy as np

MARGIN = 0.01


def tree_baseline(data, *, metric: str = "auto", seed: int = 0) -> dict:
    """``{"name", "metric", "val_score", "test_score"}`` of boosted trees fitted on
    ``data``'s train split, scored with ``metric``."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    if data.task == "classification":
        return _fit_and_score(
            data, metric, lambda: HistGradientBoostingClassifier(random_state=seed)
        )
    return _fit_and_score(data, metric, lambda: HistGradientBoostingRegressor(random_state=seed))


def linear_baseline(data, *, metric: str = "auto") -> dict:
    """The same for a linear model on the same (standardized, one-hot) inputs: logistic
    regression (L2, ``C = 1``) or ridge regression (``alpha = 1``), scikit-learn's
    defaults."""
    from sklearn.linear_model import LogisticRegression, Ridge

    if data.task == "classification":
        return _fit_and_score(data, metric, lambda: LogisticRegression(max_iter=2000))
    return _fit_and_score(data, metric, lambda: Ridge(alpha=1.0))


def _fit_and_score(data, metric: str, make) -> dict:
    """Fit ``make()`` on the training split (one regressor per target column) with one
    thread; score it on the validation and test splits."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _scored(data, metric, make)


def _scored(data, metric: str, make) -> dict:
    from caviar.diagnose.baseline import _score as auto_score
    from caviar.training.scoring import score_name, target_scale
    from caviar.training.scoring.model import _score

    X, y = np.asarray(data.X_train, dtype=np.float64), np.asarray(data.y_train)
    if data.task == "classification":
        models = [make().fit(X, y)]
    else:
        Y = y.reshape(len(y), -1).astype(np.float64)
        models = [make().fit(X, Y[:, j]) for j in range(Y.shape[1])]

    def on(x_split, y_split) -> float:
        if y_split is None or len(y_split) == 0:
            return float("nan")
        x_split = np.asarray(x_split, dtype=np.float64)
        y_split = np.asarray(y_split)
        if data.task == "classification":
            if metric == "auto":  # accuracy, as the network's auto score
                return auto_score(data.task, y_split, models[0].predict(x_split))
            proba = np.zeros((len(x_split), int(data.n_classes or 0)))
            proba[:, models[0].classes_.astype(np.int64)] = models[0].predict_proba(x_split)
            return _score(metric, data.task, proba, y_split)
        pred = np.stack([m.predict(x_split) for m in models], axis=1)
        if metric == "auto":  # R² pooled over the outputs, as the network's auto score
            return auto_score(data.task, y_split, pred)
        return _score(metric, data.task, pred, y_split, scale=target_scale(data))

    return {
        "name": type(models[0]).__name__,
        "metric": score_name(metric, data.task),
        "val_score": on(data.X_val, data.y_val),
        "test_score": on(data.X_test, data.y_test),
    }


def trees_verdict(net_val: float, trees_val: float, *, margin: float = MARGIN) -> dict:
    """Plain words on the network against the trees (validation scores)."""
    nums = {"network_val_score": net_val, "trees_val_score": trees_val}
    if math.isfinite(trees_val) and (not math.isfinite(net_val) or trees_val > net_val + margin):
        return {
            **nums,
            "trees_win": True,
            "verdict": "a network is not the best tool here",
            "reason": f"boosted trees score {trees_val:.4f} on validation against the "
            f"network's {net_val:.4f}",
        }
    return {
        **nums,
        "trees_win": False,
        "verdict": "the network holds its own against boosted trees",
        "reason": f"network {net_val:.4f} vs boosted trees {trees_val:.4f} on validation",
    }


def trees_report(data, net_val: float, *, metric: str = "auto", seed: int = 0) -> dict:
    """The tree baseline scored with ``metric`` and its verdict, one dict; ``linear``:
    the linear baseline, and ``network_margin``: the network's validation score minus
    the better of the two (negative when a peer is better), said in the reason."""
    trees = tree_baseline(data, metric=metric, seed=seed)
    report = {**trees, **trees_verdict(net_val, trees["val_score"])}
    linear = linear_baseline(data, metric=metric)
    peers = [p for p in (trees, linear) if math.isfinite(p["val_score"])]
    report["linear"] = {k: linear[k] for k in ("name", "val_score", "test_score")}
    if peers and math.isfinite(net_val):
        best = max(peers, key=lambda p: p["val_score"])
        gap = net_val - best["val_score"]
        report["best_peer"] = best["name"]
        report["network_margin"] = gap
        side = "behind" if gap < 0 else "ahead of"
        report["reason"] += (
            f"; {linear['name']} {linear['val_score']:.4f}: the network is {abs(gap):.4f} "
            f"{side} the better peer ({best['name']})"
        )
    return report
