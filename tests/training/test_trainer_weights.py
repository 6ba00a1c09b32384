"""train.class_weight and data.weight in training: balanced weights raise the minority
class's recall; a weight column is no feature; the sklearn estimators take sample_weight."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import recall_score

import caviar
from caviar.config import validate_config
from caviar.data import prepare_arrays, prepare_data
from caviar.errors import CaviarError
from caviar.sklearn import CaviarClassifier, PopulationSearchCV


def _skewed(seed=0, n=1000):
    """95/5 classes that overlap: unweighted training mostly predicts the majority."""
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n) < 0.05).astype(int)
    X = rng.normal(size=(n, 4)) + 1.2 * y[:, None]
    return prepare_arrays(X, y, seed=seed)


def _cfg(**train):
    return validate_config(
        {
            "data": {"source": "in-memory"},
            "model": {"hidden": [8]},
            "optimizer": {"name": "adam", "lr": 0.01},
            "train": {"epochs": 30, "batch_size": 64, "patience": 10, **train},
        }
    )


def test_balanced_class_weight_raises_minority_recall():
    data = _skewed()
    plain = caviar.train([_cfg()], data=data)
    balanced = caviar.train([_cfg(class_weight="balanced")], data=data)

    def recall(run):
        return recall_score(
            data.y_test, run.best_model.predict(data.X_test, preprocessed=True), pos_label=1
        )

    assert recall(plain) < 0.5
    assert recall(balanced) > recall(plain) + 0.3


def test_class_weight_mapping_and_bad_labels():
    data = _skewed()
    mapped = caviar.train([_cfg(class_weight={"1": 19.0})], data=data)
    assert (
        recall_score(data.y_test, mapped.best_model.predict(data.X_test, preprocessed=True)) > 0.5
    )
    with pytest.raises(CaviarError, match="no class '7'"):
        caviar.train([_cfg(class_weight={"7": 2.0})], data=data)


def test_weight_column_is_no_feature_and_weights_its_rows(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    frame["label"] = (frame["a"] + frame["b"] > 0).astype(int)
    frame["w"] = rng.integers(0, 4, size=300).astype(float)
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    data = prepare_data(str(path), target="label", weight="w")
    assert data.feature_names == ["a", "b", "c"]
    np.testing.assert_array_equal(data.w_train, frame["w"].to_numpy()[data.train_idx])
    np.testing.assert_array_equal(data.w_test, frame["w"].to_numpy()[data.test_idx])
    frame.loc[5, "w"] = -1.0
    frame.to_csv(path, index=False)
    with pytest.raises(CaviarError, match="data.weight: column 'w' must hold finite numbers >= 0"):
        prepare_data(str(path), target="label", weight="w")
    with pytest.raises(CaviarError, match="data.weight: no column 'nope'"):
        prepare_data(str(path), target="label", weight="nope")


def _repeat_case():
    rng = np.random.RandomState(42)
    X, y, sw = rng.rand(15, 30), rng.randint(0, 3, size=15), rng.randint(0, 5, size=15)
    return X, y, sw, X.repeat(sw, axis=0), y.repeat(sw)


def test_sklearn_sample_weight_equals_repeated_rows_in_float64():
    X, y, sw, X_rep, y_rep = _repeat_case()
    kw = {"hidden_layer_sizes": (16,), "epochs": 8, "batch_size": 64, "dtype": "float64"}
    weighted = CaviarClassifier(**kw, random_state=0).fit(X, y, sample_weight=sw)
    repeated = CaviarClassifier(**kw, random_state=0).fit(X_rep, y_rep)
    plain = CaviarClassifier(**kw, random_state=0).fit(X, y)
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), atol=1e-9)
    assert np.abs(plain.predict_proba(X) - repeated.predict_proba(X)).max() > 1e-3


def test_population_search_cv_folds_use_their_rows_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] > 0).astype(int)
    sw = rng.uniform(0.1, 3.0, size=120)
    base = CaviarClassifier(hidden_layer_sizes=(8,), epochs=5, dtype="float64", random_state=0)
    search = PopulationSearchCV(base, {"learning_rate": [0.01, 0.05]}, cv=3, refit=True).fit(
        X, y, sample_weight=sw
    )
    from sklearn.model_selection import StratifiedKFold

    for c, lr in enumerate([0.01, 0.05]):
        for k, (tr, te) in enumerate(StratifiedKFold(3).split(X, y)):
            alone = CaviarClassifier(
                hidden_layer_sizes=(8,), epochs=5, dtype="float64", random_state=0,
                learning_rate=lr,
            ).fit(X[tr], y[tr], sample_weight=sw[tr])  # fmt: skip
            assert search.cv_results_[f"split{k}_test_score"][c] == pytest.approx(
                alone.score(X[te], y[te])
            )
    best = CaviarClassifier(
        hidden_layer_sizes=(8,), epochs=5, dtype="float64", random_state=0,
        **search.best_params_,
    ).fit(X, y, sample_weight=sw)  # fmt: skip
    np.testing.assert_allclose(search.best_estimator_.predict_proba(X), best.predict_proba(X))
