"""PopulationSearchCV against scikit-learn's own searches: same candidates, same folds,
float64, so every candidate-fold member trained in a population must score as the
same estimator fitted alone (population independence)."""

import warnings

import numpy as np
import pytest
from scipy.stats import loguniform, uniform
from sklearn.datasets import load_diabetes, load_digits, load_iris
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from caviar.sklearn import CaviarClassifier, CaviarRegressor, PopulationSearchCV

BASE = {"epochs": 3, "batch_size": 32, "random_state": 0, "dtype": "float64"}


def assert_same_results(ours, theirs, rtol=1e-9, atol=1e-12):
    a, b = ours.cv_results_, theirs.cv_results_
    assert sorted(a) == sorted(b)
    assert a["params"] == b["params"]
    for key in a:
        if "time" in key or key == "params":
            continue
        if key.startswith(("rank_", "param_")):
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)
        else:
            np.testing.assert_allclose(a[key], b[key], rtol=rtol, atol=atol, err_msg=key)
    assert ours.best_index_ == theirs.best_index_
    assert ours.best_params_ == theirs.best_params_


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:240] / 16.0, y[:240]


def test_randomized_search_matches_sklearn_multimetric(digits):
    X, y = digits
    est = CaviarClassifier(hidden_layer_sizes=(16,), **BASE)
    dist = {
        "learning_rate": loguniform(1e-3, 3e-1),
        "l2_kernel": loguniform(1e-6, 1e-2),
        "label_smoothing": uniform(0, 0.2),
        "hidden_layer_sizes": [(16,), (8,)],
    }
    kw = {
        "n_iter": 6,
        "cv": StratifiedKFold(3, shuffle=True, random_state=0),
        "random_state": 0,
        "scoring": {"acc": "accuracy", "nll": "neg_log_loss"},
        "refit": "nll",
        "return_train_score": True,
    }
    ours = PopulationSearchCV(est, param_distributions=dist, **kw).fit(X, y)
    theirs = RandomizedSearchCV(est, dist, **kw).fit(X, y)
    assert_same_results(ours, theirs)
    n_structures = len({p["hidden_layer_sizes"] for p in ours.cv_results_["params"]})
    assert ours.n_populations_ == 3 * n_structures < 3 * 6
    assert ours.best_score_ == pytest.approx(theirs.best_score_, rel=1e-9)
    np.testing.assert_allclose(
        ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-9, atol=1e-12
    )
    assert ours.scorer_.keys() == theirs.scorer_.keys()


def test_grid_search_over_a_pipeline_matches_sklearn():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), CaviarClassifier(hidden_layer_sizes=(8,), **BASE))
    grid = {
        "standardscaler__with_mean": [True, False],
        "caviarclassifier__learning_rate": [1e-3, 1e-2, 1e-1],
        "caviarclassifier__weight_decay": [0.0, 0.01],
    }
    scoring = "neg_log_loss"
    ours = PopulationSearchCV(pipe, param_grid=grid, cv=4, scoring=scoring).fit(X, y)
    theirs = GridSearchCV(pipe, grid, cv=4, scoring=scoring).fit(X, y)
    assert_same_results(ours, theirs)
    assert ours.n_populations_ == 2 * 4  # one population per scaler setting and fold


def test_regressor_early_stopping_and_failed_candidates_match_sklearn():
    X, y = load_diabetes(return_X_y=True)
    X, y = StandardScaler().fit_transform(X[:200]), (y[:200] - y.mean()) / y.std()
    est = CaviarRegressor(
        hidden_layer_sizes=(8,),
        early_stopping=True,
        validation_fraction=0.25,
        **{**BASE, "epochs": 40},
    )
    grid = {"learning_rate": [0.03, -1.0, 0.3], "patience": [1, 4], "huber_delta": [0.5, 2.0]}
    est.set_params(loss="huber")
    kw = {"cv": KFold(3), "scoring": "neg_mean_squared_error", "return_train_score": True}
    with pytest.warns(FitFailedWarning), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "some scores are non-finite"
        ours = PopulationSearchCV(est, param_grid=grid, **kw).fit(X, y)
    with pytest.warns(FitFailedWarning), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = GridSearchCV(est, grid, **kw).fit(X, y)
    bad = [p["learning_rate"] < 0 for p in ours.cv_results_["params"]]
    assert np.isnan(ours.cv_results_["mean_test_score"][bad]).all()
    assert np.isfinite(ours.cv_results_["mean_test_score"][~np.array(bad)]).all()
    assert_same_results(ours, theirs, rtol=1e-8)
    assert ours.best_params_["learning_rate"] > 0
    # early stopping acted: patience changes the outcome of some candidates
    ok = ~np.array(bad)
    by_patience = {
        p: ours.cv_results_["mean_test_score"][ok & (ours.cv_results_["param_patience"] == p)]
        for p in (1, 4)
    }
    assert not np.allclose(by_patience[1], by_patience[4])


def test_error_score_raise_propagates_the_value_error(digits):
    X, y = digits
    est = CaviarClassifier(**BASE)
    search = PopulationSearchCV(
        est, param_grid={"learning_rate": [0.01, -1.0]}, error_score="raise"
    )
    with pytest.raises(ValueError, match="learning_rate"):
        search.fit(X, y)


def test_unseeded_estimator_shares_one_population_per_fold(digits):
    X, y = digits
    est = CaviarClassifier(hidden_layer_sizes=(8,), epochs=2)  # random_state=None
    search = PopulationSearchCV(
        est, param_distributions={"learning_rate": loguniform(1e-3, 1e-1)}, n_iter=5, cv=2
    )
    search.fit(X, y)
    assert search.n_populations_ == 2
    assert search.best_estimator_.n_iter_ == 2
    assert search.cv_results_["mean_test_score"].shape == (5,)


def test_search_rejects_bad_setups(digits):
    X, y = digits
    est = CaviarClassifier(**BASE)
    with pytest.raises(ValueError, match="exactly one of"):
        PopulationSearchCV(est, param_grid={"epochs": [1]}, param_distributions={}).fit(X, y)
    with pytest.raises(ValueError, match="exactly one of"):
        PopulationSearchCV(est).fit(X, y)
    with pytest.raises(TypeError, match="LogisticRegression"):
        PopulationSearchCV(LogisticRegression(), param_grid={"C": [1.0]}).fit(X, y)
