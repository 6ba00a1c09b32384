"""The trees comparison for every metric, and the linear peer with the network's margin."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score, log_loss, roc_auc_score

from caviar.data import prepare_data
from caviar.diagnose.trees import trees_report


@pytest.fixture(scope="module")
def cancer():
    return prepare_data("breast_cancer", seed=0)


@pytest.mark.parametrize(
    ("metric", "name", "reference"),
    [
        ("f1_macro", "f1_macro", lambda y, m, X: f1_score(y, m.predict(X), average="macro")),
        ("roc_auc", "roc_auc", lambda y, m, X: roc_auc_score(y, m.predict_proba(X)[:, 1])),
        ("log_loss", "neg_log_loss", lambda y, m, X: -log_loss(y, m.predict_proba(X))),
    ],
)
def test_trees_are_scored_with_the_runs_metric(cancer, metric, name, reference) -> None:
    report = trees_report(cancer, 0.5, metric=metric)
    ref = HistGradientBoostingClassifier(random_state=0).fit(cancer.X_train, cancer.y_train)
    assert report["metric"] == name
    assert report["val_score"] == pytest.approx(
        reference(cancer.y_val, ref, cancer.X_val), rel=1e-9
    )
    assert report["test_score"] == pytest.approx(
        reference(cancer.y_test, ref, cancer.X_test), rel=1e-9
    )


def test_linear_peer_and_the_networks_margin(cancer) -> None:
    report = trees_report(cancer, 0.9, metric="accuracy")
    lin = LogisticRegression(max_iter=2000).fit(cancer.X_train, cancer.y_train)
    acc = float(np.mean(lin.predict(cancer.X_val) == cancer.y_val))
    assert report["linear"]["name"] == "LogisticRegression"
    assert report["linear"]["val_score"] == pytest.approx(acc, rel=1e-12)
    best = max(report["val_score"], acc)
    assert report["network_margin"] == pytest.approx(0.9 - best, rel=1e-12)
    assert f"{abs(0.9 - best):.4f} behind the better peer" in report["reason"]
