"""Naive baseline and verdict (:ref:`bg-baselines`)."""

import math

import numpy as np
import pytest
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.metrics import accuracy_score, r2_score

from caviar.data import prepare_data
from caviar.diagnose.baseline import naive_baseline
from caviar.diagnose.verdict import verdict


@pytest.mark.parametrize("source", ["iris", "wine", "breast_cancer"])
def test_majority_baseline_matches_sklearn_dummy(source):
    data = prepare_data(source, seed=3)
    got = naive_baseline(data)
    dummy = DummyClassifier(strategy="most_frequent").fit(data.X_train, data.y_train)
    assert math.isclose(got["val_score"], accuracy_score(data.y_val, dummy.predict(data.X_val)))
    assert math.isclose(got["test_score"], accuracy_score(data.y_test, dummy.predict(data.X_test)))


def test_mean_baseline_matches_sklearn_dummy():
    data = prepare_data("diabetes", seed=1)
    got = naive_baseline(data)
    dummy = DummyRegressor().fit(data.X_train, data.y_train)
    np.testing.assert_allclose(
        got["val_score"], r2_score(data.y_val, dummy.predict(data.X_val)), rtol=1e-12
    )
    np.testing.assert_allclose(
        got["test_score"], r2_score(data.y_test, dummy.predict(data.X_test)), rtol=1e-12
    )


@pytest.mark.parametrize(
    "train, val, base, expected",
    [
        (0.40, 0.34, 0.34, "not learning"),
        (0.99, 0.30, 0.34, "not learning"),
        (0.50, 0.48, 0.34, "underfitting"),
        (1.00, 0.85, 0.34, "overfitting"),
        (0.97, 0.95, 0.34, "fine"),
        (0.60, 0.55, 0.0, "fine"),  # regression R^2 against the mean baseline
    ],
)
def test_verdict_rules(train, val, base, expected):
    v = verdict(train, val, base)
    assert v["verdict"] == expected
    assert v["val_score"] == val and v["baseline_val_score"] == base and v["reason"]
