"""The scikit-learn estimators with ``module=``: a user's module as the network, fitted
alone or as candidates x folds in one population by PopulationSearchCV (the same
results as scikit-learn's GridSearchCV fitting each candidate alone)."""

import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV
from test_sklearn_search import assert_same_results
from torch import nn

from caviar.sklearn import CaviarClassifier, CaviarRegressor, PopulationSearchCV


def tiny_cnn(cfg):
    c, length = cfg["input_shape"]
    return nn.Sequential(
        nn.Conv1d(c, 3, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(3 * length, cfg["n_outputs"]),
    )


@pytest.fixture(scope="module")
def signals():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(90, 2, 6))
    y = np.where(X[:, 0].sum(axis=1) > 0, "up", "down")
    return X.reshape(90, -1), y


def test_classifier_with_a_module_fits_and_predicts(signals):
    X, y = signals
    est = CaviarClassifier(
        module=tiny_cnn,
        input_shape=(2, 6),
        epochs=30,
        learning_rate=0.01,
        dtype="float64",
        random_state=0,
    ).fit(X, y)
    assert est.network_["kind"] == "module" and not hasattr(est, "coefs_")
    assert set(est.predict(X)) <= {"up", "down"}
    assert est.score(X, y) > 0.8
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)


def test_regressor_with_a_module(signals):
    X, _ = signals
    target = X[:, :6].sum(axis=1)
    est = CaviarRegressor(
        module=tiny_cnn,
        input_shape=(2, 6),
        epochs=40,
        learning_rate=0.01,
        dtype="float64",
        random_state=0,
    ).fit(X, target)
    assert est.score(X, target) > 0.5


def test_a_bad_input_shape_is_one_line(signals):
    X, y = signals
    with pytest.raises(ValueError, match="input_shape: data.shape"):
        CaviarClassifier(module=tiny_cnn, input_shape=(3, 6), epochs=1).fit(X, y)


def test_population_search_with_a_module_matches_grid_search(signals):
    X, y = signals
    est = CaviarClassifier(
        module=tiny_cnn, input_shape=(2, 6), epochs=5, dtype="float64", random_state=0
    )
    grid = {"learning_rate": [1e-3, 1e-2, 3e-2], "l2_kernel": [0.0, 1e-3]}
    ours = PopulationSearchCV(est, param_grid=grid, cv=3).fit(X, y)
    theirs = GridSearchCV(est, grid, cv=3).fit(X, y)
    assert_same_results(ours, theirs, rtol=1e-9)
    assert ours.n_populations_ == 3  # 6 candidates x 3 folds in one population per fold
