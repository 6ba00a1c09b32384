"""Every metric of caviar.training.scoring against sklearn.metrics in float64, per member."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from caviar.errors import CaviarError
from caviar.losses import get_loss
from caviar.training.scoring import METRICS, get_metric, score_name, score_outputs

P, N = 5, 97


def _proba(rng, n_classes, ties=False):
    logits = rng.normal(size=(P, N, n_classes))
    if ties:  # coarse scores: many tied values, as a saturated network gives
        logits = np.round(logits, 0)
    p = np.exp(logits)
    return p / p.sum(axis=-1, keepdims=True)


def _labels(rng, n_classes, imbalanced=False):
    probs = None
    if imbalanced:
        probs = np.r_[0.85, np.full(n_classes - 1, 0.15 / (n_classes - 1))]
    y = rng.choice(n_classes, size=N, p=probs)
    y[:n_classes] = np.arange(n_classes)  # every class present
    return y


SKLEARN_CLASSIFICATION = {
    "accuracy": lambda y, p, w: skm.accuracy_score(y, p.argmax(1), sample_weight=w),
    "balanced_accuracy": lambda y, p, w: skm.balanced_accuracy_score(
        y, p.argmax(1), sample_weight=w
    ),
    "f1_macro": lambda y, p, w: skm.f1_score(
        y, p.argmax(1), average="macro", sample_weight=w, zero_division=0
    ),
    "f1_weighted": lambda y, p, w: skm.f1_score(
        y, p.argmax(1), average="weighted", sample_weight=w, zero_division=0
    ),
    "log_loss": lambda y, p, w: skm.log_loss(y, p, sample_weight=w, labels=np.arange(p.shape[1])),
    "roc_auc": lambda y, p, w: skm.roc_auc_score(
        y, p[:, 1] if p.shape[1] == 2 else p, sample_weight=w, multi_class="ovr"
    ),
}
BINARY_ONLY = {
    "precision": lambda y, p, w: skm.precision_score(
        y, p.argmax(1), sample_weight=w, zero_division=0
    ),
    "recall": lambda y, p, w: skm.recall_score(y, p.argmax(1), sample_weight=w, zero_division=0),
}


def _check(name, ref, proba, y, w):
    got = METRICS[name].fn(
        torch.as_tensor(proba), torch.as_tensor(y), None if w is None else torch.as_tensor(w)
    )
    assert got.dtype == torch.float64 and got.shape == (P,)
    want = [ref(y, proba[p], w) for p in range(P)]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize(
    ("name", "n_classes"),
    [(m, k) for m in SKLEARN_CLASSIFICATION for k in (2, 3, 6)] + [(m, 2) for m in BINARY_ONLY],
)
def test_classification_metric_matches_sklearn(name, n_classes, ties, weighted):
    rng = np.random.default_rng([n_classes, ties, weighted, len(name)])
    proba = _proba(rng, n_classes, ties=ties)
    y = _labels(rng, n_classes, imbalanced=True)
    w = rng.uniform(0.1, 3.0, size=N) if weighted else None
    ref = {**SKLEARN_CLASSIFICATION, **BINARY_ONLY}[name]
    _check(name, ref, proba, y, w)


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_f1_macro_counts_classes_seen_only_in_predictions():
    """sklearn's unique_labels: a class predicted but absent from y still counts (F1 = 0)."""
    rng = np.random.default_rng(3)
    proba = _proba(rng, 4)
    y = rng.choice(3, size=N)  # class 3 never true, but predicted by some members
    assert (proba.argmax(-1) == 3).any()
    for name in ("f1_macro", "f1_weighted", "balanced_accuracy"):
        _check(name, SKLEARN_CLASSIFICATION[name], proba, y, None)


SKLEARN_REGRESSION = {
    "r2": skm.r2_score,
    "rmse": skm.root_mean_squared_error,
    "mae": skm.mean_absolute_error,
}


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("name", list(SKLEARN_REGRESSION))
def test_regression_metric_matches_sklearn(name, k, weighted):
    rng = np.random.default_rng([k, weighted, len(name)])
    y = rng.normal(size=(N, k))
    pred = y + rng.normal(scale=0.7, size=(P, N, k))
    w = rng.uniform(0.1, 3.0, size=N) if weighted else None
    got = METRICS[name].fn(
        torch.as_tensor(pred), torch.as_tensor(y), None if w is None else torch.as_tensor(w)
    )
    want = [SKLEARN_REGRESSION[name](y, pred[p], sample_weight=w) for p in range(P)]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12, atol=1e-12)


def test_r2_of_a_constant_target_follows_sklearn_force_finite():
    y = np.full((N, 1), 2.0)
    pred = np.stack([y, y + 0.5])
    got = METRICS["r2"].fn(torch.as_tensor(pred), torch.as_tensor(y), None)
    want = [skm.r2_score(y, p) for p in pred]
    np.testing.assert_array_equal(got.numpy(), want)  # 1.0 exact, 0.0 otherwise


def test_roc_auc_of_a_diverged_member_is_nan_and_others_unaffected():
    rng = np.random.default_rng(0)
    proba = _proba(rng, 2)
    y = _labels(rng, 2)
    bad = proba.copy()
    bad[1, 5] = np.nan
    got = METRICS["roc_auc"].fn(torch.as_tensor(bad), torch.as_tensor(y), None).numpy()
    assert np.isnan(got[1])
    ok = [0, 2, 3, 4]
    want = [skm.roc_auc_score(y, proba[p, :, 1]) for p in ok]
    np.testing.assert_allclose(got[ok], want, rtol=1e-12)


def test_per_member_targets_score_each_member_on_its_own_labels():
    rng = np.random.default_rng(1)
    proba = _proba(rng, 3)
    y = np.stack([_labels(rng, 3) for _ in range(P)])
    got = METRICS["f1_macro"].fn(torch.as_tensor(proba), torch.as_tensor(y), None).numpy()
    want = [skm.f1_score(y[p], proba[p].argmax(1), average="macro") for p in range(P)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_lower_is_better_metrics_are_negated_scores_named_neg():
    rng = np.random.default_rng(2)
    out = torch.as_tensor(rng.normal(size=(P, N, 3)))
    y = torch.as_tensor(_labels(rng, 3))
    spec = get_loss("cross_entropy")
    proba = torch.softmax(out, dim=-1).numpy()
    got = score_outputs("log_loss", spec, out, y).numpy()
    want = [-skm.log_loss(y.numpy(), proba[p], labels=[0, 1, 2]) for p in range(P)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert score_name("log_loss", "classification") == "neg_log_loss"
    assert score_name("rmse", "regression") == "neg_rmse"
    assert score_name("auto", "regression") == "r2"
    assert score_name("roc_auc", "classification") == "roc_auc"


def test_binary_cross_entropy_single_output_scores_through_its_probabilities():
    rng = np.random.default_rng(4)
    out = torch.as_tensor(rng.normal(size=(P, N, 1)))
    y = _labels(rng, 2)
    got = score_outputs("roc_auc", get_loss("binary_cross_entropy"), out, torch.as_tensor(y))
    want = [skm.roc_auc_score(y, out[p, :, 0].numpy()) for p in range(P)]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)


def test_unknown_metric_or_wrong_task_is_a_one_line_error():
    with pytest.raises(CaviarError, match="unknown metric 'f2'.*choose from"):
        get_metric("f2", "classification")
    with pytest.raises(CaviarError, match="metric 'rmse' is for regression"):
        get_metric("rmse", "classification")
    with pytest.raises(CaviarError, match="two classes"):
        METRICS["precision"].fn(torch.ones(1, 3, 3) / 3, torch.tensor([0, 1, 2]), None)


def test_the_config_schema_accepts_exactly_the_registered_metrics():
    from typing import get_args

    from caviar.config.schema import TrainingConfig
    from caviar.training.scoring import METRIC_NAMES

    assert get_args(TrainingConfig.model_fields["metric"].annotation) == METRIC_NAMES
