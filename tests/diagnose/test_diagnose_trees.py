"""Boosted trees beside the network (:ref:`bg-baselines`: the algorithm is a
hyperparameter), against scikit-learn itself."""

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import accuracy_score, r2_score

from caviar.data import prepare_arrays, prepare_data
from caviar.diagnose.trees import tree_baseline, trees_report, trees_verdict


def test_classifier_scores_equal_scikit_learn():
    data = prepare_data("wine", seed=0)
    ours = tree_baseline(data)
    ref = HistGradientBoostingClassifier(random_state=0).fit(data.X_train, data.y_train)
    assert ours["name"] == "HistGradientBoostingClassifier"
    assert ours["val_score"] == accuracy_score(data.y_val, ref.predict(data.X_val))
    assert ours["test_score"] == accuracy_score(data.y_test, ref.predict(data.X_test))


def test_regressor_per_target_column_equals_scikit_learn():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    Y = np.stack([np.sin(X[:, 0]) + X[:, 1] ** 2, X[:, 2] * X[:, 3]], axis=1)
    # several target columns (an .npz source may have them): a plain namespace of splits
    data = SimpleNamespace(
        task="regression",
        X_train=X[:200],
        y_train=Y[:200],
        X_val=X[200:250],
        y_val=Y[200:250],
        X_test=X[250:],
        y_test=Y[250:],
    )
    ours = tree_baseline(data)
    pred = np.stack(
        [HistGradientBoostingRegressor(random_state=0).fit(data.X_train, data.y_train[:, j])
         .predict(data.X_val) for j in range(2)], axis=1,
    )  # fmt: skip
    sst = ((data.y_val - data.y_val.mean(axis=0)) ** 2).sum()
    assert ours["val_score"] == pytest.approx(1 - ((data.y_val - pred) ** 2).sum() / sst, rel=1e-12)
    one = prepare_arrays(X, Y[:, 0], task="regression")
    ref = HistGradientBoostingRegressor(random_state=0).fit(one.X_train, one.y_train)
    assert tree_baseline(one)["val_score"] == pytest.approx(
        r2_score(one.y_val, ref.predict(one.X_val)), rel=1e-12
    )


def test_verdict_in_plain_words():
    assert trees_verdict(0.80, 0.95)["verdict"] == "a network is not the best tool here"
    assert trees_verdict(0.95, 0.955)["trees_win"] is False  # within the margin
    assert trees_verdict(float("nan"), 0.9)["trees_win"] is True
    # on a step function of one input trees win against a network's usual score
    X = np.random.default_rng(1).uniform(-1, 1, size=(400, 2))
    y = ((X[:, 0] > 0.1) ^ (X[:, 1] > -0.3)).astype(int)
    report = trees_report(prepare_arrays(X, y), net_val=0.7)
    assert report["val_score"] > 0.9 and report["trees_win"]
