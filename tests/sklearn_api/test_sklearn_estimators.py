"""CaviarClassifier / CaviarRegressor: maths of predictions, labels, early stopping,
parameter validation, and use inside scikit-learn tools."""

import pickle

import numpy as np
import pytest
from scipy.special import expit, softmax
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from caviar.errors import CaviarError
from caviar.sklearn import CaviarClassifier, CaviarRegressor

FAST = {"hidden_layer_sizes": (8,), "epochs": 5, "random_state": 0, "dtype": "float64"}


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), y


def forward(est, X):
    """Numpy forward pass from the fitted coefs_/intercepts_ (tanh hidden layers)."""
    a = X
    for i, (w, b) in enumerate(zip(est.coefs_, est.intercepts_, strict=True)):
        a = a @ w + b
        if i < len(est.coefs_) - 1:
            a = np.tanh(a)
    return a


def test_predict_proba_is_softmax_of_the_network_and_labels_map_back(iris):
    X, y = iris
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    est = CaviarClassifier(**{**FAST, "activation": "tanh", "hidden_layer_sizes": (8, 4)})
    est.fit(X, names)
    assert list(est.classes_) == ["setosa", "versicolor", "virginica"]
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba, softmax(forward(est, X), axis=1), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(est.predict(X), est.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(est.predict_log_proba(X), np.log(proba), rtol=1e-12)
    assert est.score(X, names) == np.mean(est.predict(X) == names)


def test_binary_cross_entropy_has_one_output_and_two_probabilities(iris):
    X, y = iris
    y2 = np.where(y == 0, -1, 7)  # two classes with arbitrary labels
    est = CaviarClassifier(**{**FAST, "activation": "tanh"}, loss="binary_cross_entropy")
    est.fit(X, y2)
    assert est.coefs_[-1].shape == (8, 1)
    p1 = expit(forward(est, X)[:, 0])
    np.testing.assert_allclose(est.predict_proba(X), np.c_[1 - p1, p1], rtol=1e-12)
    assert set(est.predict(X)) <= {-1, 7}


def test_regressor_predicts_the_linear_output_single_and_multi_target(diabetes):
    X, y = diabetes
    est = CaviarRegressor(**{**FAST, "activation": "tanh"}, learning_rate=0.05).fit(X, y)
    pred = est.predict(X)
    assert pred.shape == (len(y),)
    # the network learns the standardized target; predictions map it back (standardize_target)
    expected = forward(est, X)[:, 0] * est.target_std_[0] + est.target_mean_[0]
    np.testing.assert_allclose(pred, expected, rtol=1e-12)
    assert est.target_mean_[0] == pytest.approx(y.mean(), rel=1e-12)
    assert est.target_std_[0] == pytest.approx(y.std(), rel=1e-12)
    Y = np.c_[y, -2 * y]
    multi = CaviarRegressor(**FAST, learning_rate=0.05).fit(X, Y)
    assert multi.n_outputs_ == 2 and multi.predict(X).shape == (len(y), 2)


def test_output_prior_init_starts_at_the_baseline(diabetes):
    X, y = diabetes
    est = CaviarRegressor(**{**FAST, "epochs": 1}, learning_rate=0.0).fit(X, y)
    np.testing.assert_allclose(est.predict(X), np.full(len(y), y.mean()), rtol=1e-12)


def test_without_early_stopping_every_row_trains_and_all_epochs_run(iris):
    X, y = iris
    est = CaviarClassifier(**FAST).fit(X, y)
    assert (est.n_iter_, est.best_epoch_, est.status_) == (5, 4, "complete")
    assert est.best_validation_score_ is None
    assert est.config_.train.patience is None
    assert len(est.history_["train_loss"]) == 5


def test_early_stopping_holds_out_a_stratified_split_and_stops(iris):
    X, y = iris
    est = CaviarClassifier(
        **{**FAST, "epochs": 200},
        learning_rate=0.3,
        early_stopping=True,
        patience=2,
        validation_fraction=0.2,
    ).fit(X, y)
    assert est.status_ == "early_stopped" and est.n_iter_ < 200
    assert est.best_epoch_ == int(np.argmin(est.history_["val_loss"]))
    assert est.best_validation_score_ == est.history_["val_score"][est.best_epoch_]
    # 30 of 150 rows held out, stratified: a multiple of 1/30 accuracy is measured
    assert np.isclose(est.best_validation_score_ * 30, round(est.best_validation_score_ * 30))


def test_same_random_state_same_model_and_pickle_round_trip(iris):
    X, y = iris
    a = CaviarClassifier(**FAST).fit(X, y)
    b = CaviarClassifier(**FAST).fit(X, y)
    for wa, wb in zip(a.coefs_, b.coefs_, strict=True):
        np.testing.assert_array_equal(wa, wb)
    c = CaviarClassifier(**{**FAST, "random_state": 1}).fit(X, y)
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.predict_proba(X), a.predict_proba(X))


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"learning_rate": -0.1}, "learning_rate"),
        ({"activation": "swish"}, "activation"),
        ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'"),
        ({"loss": "mse"}, "loss 'mse' is for regression"),
        ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes"),
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": 0}, "epochs"),
        ({"label_smoothing": 1.5}, "label_smoothing"),
        ({"momentum": 0.9}, "optimizer 'adam' has no hyperparameter 'momentum'"),
        ({"early_stopping": True, "validation_fraction": 1.5}, "val_fraction"),
        ({"dtype": "float16"}, "dtype"),
        ({"random_state": -3}, "random_state"),
    ],
)
def test_bad_parameters_raise_one_line_value_error_at_fit(iris, params, needle):
    X, y = iris
    est = CaviarClassifier(**{**FAST, **params})  # __init__ only stores
    with pytest.raises(ValueError, match=needle) as info:
        est.fit(X, y)
    assert isinstance(info.value, CaviarError)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith("CaviarClassifier")


def test_regressor_rejects_classification_loss_and_bad_huber_delta(diabetes):
    X, y = diabetes
    with pytest.raises(ValueError, match="cross_entropy' is for classification"):
        CaviarRegressor(**FAST, loss="cross_entropy").fit(X, y)
    with pytest.raises(ValueError, match="huber_delta"):
        CaviarRegressor(**FAST, loss="huber", huber_delta=-1.0).fit(X, y)


def test_pipeline_cross_val_score_and_clone():
    X, y = load_iris(return_X_y=True)
    pipe = make_pipeline(
        StandardScaler(), CaviarClassifier(**{**FAST, "epochs": 30}, learning_rate=0.03)
    )
    scores = cross_val_score(pipe, X, y, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.85
    fitted = pipe.fit(X, y)
    twin = clone(fitted)
    assert twin.get_params()["caviarclassifier__epochs"] == 30
    assert not hasattr(twin[-1], "coefs_")
    np.testing.assert_array_equal(clone(fitted).fit(X, y).predict(X), fitted.predict(X))
