"""The estimators on tables as they come, and the knobs users expect: a DataFrame with
text columns and gaps, class_weight, metric, the standardized regression target, and
image-shaped X."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score, recall_score

import caviar
from caviar.errors import CaviarWarning
from caviar.sklearn import CaviarClassifier, CaviarRegressor

FAST = {"hidden_layer_sizes": (16,), "epochs": 6, "random_state": 0, "dtype": "float64"}


def churn(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """A churn-like table: two text columns, a bool, gaps in two numeric columns."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "tenure": rng.exponential(20, n),
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "city": rng.choice([f"c{i}" for i in range(12)], n),
            "paperless": rng.random(n) < 0.5,
        }
    )
    logit = 0.08 * (df["age"] - 40) - 0.05 * df["tenure"] + (df["plan"] == "pro") * 1.5
    y = pd.Series(np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no"), name="churn")
    df.loc[rng.random(n) < 0.15, "age"] = np.nan
    df.loc[rng.random(n) < 0.1, "tenure"] = np.nan
    df.loc[rng.random(n) < 0.05, "plan"] = None
    return df, y


def test_a_dataframe_with_text_and_gaps_predicts_as_the_cli_path(tmp_path) -> None:
    df, y = churn()
    est = CaviarClassifier(**FAST, early_stopping=True, validation_fraction=0.2).fit(df, y)
    assert est.preprocessor_ is not None and est.n_features_in_ == 5
    assert list(est.feature_names_in_) == list(df.columns)
    path = tmp_path / "churn.csv"
    df.assign(churn=y).to_csv(path, index=False)
    cfg = est.config_.model_dump(mode="json")
    cfg["data"] = {"source": str(path), "target": "churn", "val_fraction": 0.2,
                   "test_fraction": 0.0, "seed": 0}  # fmt: skip
    with pytest.warns(CaviarWarning, match="imputed"):
        run = caviar.train(cfg)
    fresh = pd.read_csv(path).drop(columns="churn")  # raw rows, read back as the CLI reads
    np.testing.assert_array_equal(est.predict(fresh), run.best_model.predict(fresh))
    np.testing.assert_allclose(
        est.predict_proba(fresh), run.best_model.predict_proba(fresh), rtol=1e-9, atol=1e-12
    )
    assert est.preprocessor_.to_json()["features"] == run.data.preprocessor.to_json()["features"]


def test_unseen_categories_at_predict_are_counted_and_preprocess_false_refuses_text() -> None:
    df, y = churn()
    est = CaviarClassifier(**FAST).fit(df, y)
    new = df.head(4).copy()
    new["city"] = ["Atlantis", "c1", "Atlantis", "c2"]
    with pytest.warns(CaviarWarning, match=r"2 values of categories never seen.*'city' \(2"):
        assert len(est.predict(new)) == 4
    strict = CaviarClassifier(**FAST, table_options={"unknown": "error"}).fit(df, y)
    with pytest.raises(ValueError, match="never seen in training"):
        strict.predict(new)
    with pytest.raises(ValueError, match="could not convert string to float"):
        CaviarClassifier(**FAST, preprocess=False).fit(df, y)
    with pytest.raises(ValueError, match="table_options has no key 'imputer'"):
        CaviarClassifier(**FAST, table_options={"imputer": "mean"}).fit(df, y)


def test_class_weight_balanced_raises_minority_recall_and_maps_labels() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 4))
    y = np.where(X[:, 0] + 0.5 * rng.normal(size=400) > 1.3, "rare", "common")
    plain = CaviarClassifier(**{**FAST, "epochs": 10}).fit(X, y)
    weighted = CaviarClassifier(**{**FAST, "epochs": 10}, class_weight="balanced").fit(X, y)
    r_plain = recall_score(y, plain.predict(X), pos_label="rare")
    r_weighted = recall_score(y, weighted.predict(X), pos_label="rare")
    assert r_weighted > r_plain + 0.1, (r_plain, r_weighted)
    mapped = CaviarClassifier(**FAST, class_weight={"rare": 4.0}).fit(X, y)
    assert mapped.config_.train.class_weight == {"1": 4.0}  # classes_ = [common, rare]
    with pytest.raises(ValueError, match="class_weight has label 'nope'"):
        CaviarClassifier(**FAST, class_weight={"nope": 2.0}).fit(X, y)


def test_metric_is_what_early_stopping_watches_and_restores() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 5))
    y = (X[:, 0] * X[:, 1] + 0.3 * rng.normal(size=300) > 0).astype(int)
    kw = {**FAST, "epochs": 25, "patience": 25, "early_stopping": True, "learning_rate": 0.05}
    by_loss = CaviarClassifier(**kw).fit(X, y)
    by_f1 = CaviarClassifier(**kw, metric="f1_macro").fit(X, y)
    assert by_f1.config_.train.metric == "f1_macro"
    scores = list(by_f1.history_["val_score"])
    assert by_f1.best_epoch_ == int(np.argmax(scores))  # first best epoch of the metric
    assert by_f1.best_validation_score_ == pytest.approx(max(scores))
    losses = list(by_loss.history_["val_loss"])
    assert by_loss.best_epoch_ == int(np.argmin(losses))
    with pytest.raises(ValueError, match="metric"):
        CaviarClassifier(**FAST, metric="r2").fit(X, y)


def test_a_target_of_scale_1e4_reaches_the_r2_of_the_standardized_target() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 3))
    z = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]
    y = 1e4 * z + 5e4
    kw = {**FAST, "hidden_layer_sizes": (32,), "epochs": 40, "learning_rate": 0.01}
    big = CaviarRegressor(**kw).fit(X, y)
    unit = (y - y.mean()) / y.std()
    ref = CaviarRegressor(**kw, standardize_target=False).fit(X, unit)
    r2_big, r2_ref = r2_score(y, big.predict(X)), r2_score(unit, ref.predict(X))
    assert r2_ref > 0.8 and r2_big == pytest.approx(r2_ref, abs=1e-9)
    raw = CaviarRegressor(**kw, standardize_target=False).fit(X, y)
    assert r2_score(y, raw.predict(X)) < r2_ref - 0.3  # what users hit before


def test_image_shaped_x_gives_the_input_shape() -> None:
    rng = np.random.default_rng(4)
    images = rng.normal(size=(60, 1, 4, 4))
    y = (images[:, 0, 1, 1] > 0).astype(int)
    est = CaviarClassifier(**FAST).fit(images, y)
    assert est.input_shape_ == (1, 4, 4) and est.n_features_in_ == 16
    flat = CaviarClassifier(**FAST).fit(images.reshape(60, -1), y)
    np.testing.assert_array_equal(
        est.predict_proba(images), flat.predict_proba(images.reshape(60, -1))
    )


def test_population_search_on_a_dataframe_equals_each_candidate_alone() -> None:
    from sklearn.model_selection import cross_val_score

    from caviar.sklearn import PopulationSearchCV

    df, y = churn()
    base = CaviarClassifier(**{**FAST, "epochs": 3})
    grid = {"learning_rate": [1e-3, 1e-2], "table_options": [None, {"max_onehot": 2}]}
    search = PopulationSearchCV(base, grid, cv=2).fit(df, y)
    for params, score in zip(
        search.cv_results_["params"], search.cv_results_["mean_test_score"], strict=True
    ):
        alone = cross_val_score(base.set_params(**params), df, y, cv=2).mean()
        assert score == pytest.approx(alone, abs=1e-12), params
