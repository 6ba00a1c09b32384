"""Gradient-boosted trees beside the network (seed 004: "the algorithm is a
hyperparameter" -- try another model class before tuning this one for long).

scikit-learn's ``HistGradientBoostingClassifier`` / ``HistGradientBoostingRegressor``
(default settings, ``random_state = 0``; one regressor per target column for several
targets; one OpenMP thread: on a busy machine its default thread pool was measured 37x
slower on iris, 48x on digits) is fitted on the same training split and scored on the
validation split with the network's score (accuracy or R^2). The verdict compares it
with the network's validation score ``net``:

* ``trees > net + MARGIN``: "a network is not the best tool here";
* otherwise the network holds its own against the trees.
"""

from __future__ import annotations

import math

import numpy as np

from caviar.diagnose.baseline import _score

MARGIN = 0.01


def tree_baseline(data, *, seed: int = 0) -> dict:
    """``{"name", "val_score", "test_score"}`` of boosted trees fitted on ``data``'s train split."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _fit_and_score(data, seed)


def _fit_and_score(data, seed: int) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    X, y = np.asarray(data.X_train, dtype=np.float64), np.asarray(data.y_train)
    if data.task == "classification":
        models = [HistGradientBoostingClassifier(random_state=seed).fit(X, y)]
        name = "HistGradientBoostingClassifier"
    else:
        Y = y.reshape(len(y), -1).astype(np.float64)
        models = [
            HistGradientBoostingRegressor(random_state=seed).fit(X, Y[:, j])
            for j in range(Y.shape[1])
        ]
        name = "HistGradientBoostingRegressor"

    def on(x_split, y_split) -> float:
        if y_split is None or len(y_split) == 0:
            return float("nan")
        x_split = np.asarray(x_split, dtype=np.float64)
        if data.task == "classification":
            return _score(data.task, np.asarray(y_split), models[0].predict(x_split))
        pred = np.stack([m.predict(x_split) for m in models], axis=1)
        return _score(data.task, np.asarray(y_split), pred)

    return {
        "name": name,
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


def trees_report(data, net_val: float, *, seed: int = 0) -> dict:
    """The tree baseline and its verdict, one dict."""
    trees = tree_baseline(data, seed=seed)
    return {**trees, **trees_verdict(net_val, trees["val_score"])}
