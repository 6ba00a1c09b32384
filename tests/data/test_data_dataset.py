"""The whole pipeline: prepare_data / prepare_arrays / train_val (caviar.data.dataset)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from caviar.data import (
    PreparedData,
    TableOptions,
    load_source,
    prepare_arrays,
    prepare_data,
    train_val,
)


def test_prepare_iris() -> None:
    data = prepare_data("iris", seed=0)
    assert isinstance(data, PreparedData)
    assert data.task == "classification" and data.n_classes == 3
    assert (data.X_train.shape, data.X_val.shape, data.X_test.shape) == ((90, 4), (30, 4), (30, 4))
    for X in (data.X_train, data.X_val, data.X_test):
        assert X.dtype == np.float64
    for y in (data.y_train, data.y_val, data.y_test):
        assert y.dtype == np.int64 and set(np.unique(y)) <= {0, 1, 2}
    assert data.feature_names == list(load_source("iris").X.columns)
    assert data.source_name == "iris" and data.image_shape is None
    assert data.n_features == 4


def test_preprocessor_is_fitted_on_the_training_rows_only() -> None:
    raw = load_source("wine")
    data = prepare_data("wine", seed=4)
    train_means = raw.X.iloc[data.train_idx].mean().to_numpy()
    used = np.array([c.mean for c in data.preprocessor.columns])
    np.testing.assert_allclose(used, train_means, rtol=1e-12)
    assert not np.allclose(used, raw.X.mean().to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0.0, atol=1e-9)
    np.testing.assert_allclose(data.X_train.std(axis=0), 1.0, rtol=1e-9)
    # validation/test rows are only transformed, so they are not exactly standardized
    assert np.abs(data.X_test.mean(axis=0)).max() > 1e-3


def test_labels_line_up_with_the_source_rows() -> None:
    raw = load_source("iris")
    data = prepare_data("iris", seed=2)
    for idx, y in ((data.train_idx, data.y_train), (data.test_idx, data.y_test)):
        np.testing.assert_array_equal(data.preprocessor.decode_labels(y), raw.y.to_numpy()[idx])


def test_prepare_digits_keeps_the_image_shape() -> None:
    data = prepare_data("digits")
    assert data.image_shape == (8, 8)
    assert data.n_classes == 10
    assert data.X_train.shape[1] == 64


def test_prepare_diabetes_is_regression_with_raw_targets() -> None:
    raw = load_source("diabetes")
    data = prepare_data("diabetes", seed=1)
    assert data.task == "regression" and data.n_classes is None
    assert data.y_train.dtype == np.float64
    np.testing.assert_array_equal(data.y_val, raw.y.to_numpy()[data.val_idx])


def test_prepare_csv_with_categorical_feature_and_string_target(tmp_path) -> None:
    rng = np.random.default_rng(0)
    n = 60
    df = pd.DataFrame(
        {
            "height": rng.normal(170, 10, n),
            "city": rng.choice(["paris", "rome", "oslo"], n),
            "label": np.where(np.arange(n) % 3 == 0, "yes", "no"),
        }
    )
    path = tmp_path / "survey.csv"
    df.to_csv(path, index=False)
    data = prepare_data(str(path), target="label", seed=0)
    assert data.task == "classification" and data.n_classes == 2
    assert data.feature_names == ["height", "city=oslo", "city=paris", "city=rome"]
    assert data.X_train.shape == (36, 4)
    decoded = data.preprocessor.decode_labels(data.y_test)
    assert list(decoded) == list(df["label"].to_numpy()[data.test_idx])
    assert data.source_name == "survey.csv"


def test_task_override() -> None:
    data = prepare_data("iris", task="regression")
    assert data.task == "regression" and data.y_train.dtype == np.float64


def test_prepare_arrays_from_numpy() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    data = prepare_arrays(X, y, val_fraction=0.25, test_fraction=0.0, seed=0)
    assert data.feature_names == ["x0", "x1", "x2"]
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (30, 10, 0)
    assert data.X_test.shape == (0, 3)
    assert data.task == "classification"


def test_prepare_arrays_from_dataframe_with_named_target() -> None:
    X = pd.DataFrame({"a": np.arange(30.0), "kind": ["u", "v", "w"] * 10}, index=range(100, 130))
    y = pd.Series(np.linspace(0, 1, 30), name="score", index=range(100, 130))
    data = prepare_arrays(X, y)
    assert data.task == "regression"
    assert data.preprocessor.target == "score"
    assert data.feature_names == ["a", "kind=u", "kind=v", "kind=w"]
    np.testing.assert_array_equal(data.y_train, y.to_numpy()[data.train_idx])


def test_prepare_arrays_with_images() -> None:
    X = np.random.default_rng(0).random((20, 4, 5))
    data = prepare_arrays(X, np.arange(20) % 2)
    assert data.image_shape == (4, 5)
    assert data.n_features == 20


def test_train_val_concatenates_in_order() -> None:
    data = prepare_data("wine", seed=0)
    X, y = train_val(data)
    assert X.shape == (len(data.X_train) + len(data.X_val), data.n_features)
    np.testing.assert_array_equal(X[: len(data.X_train)], data.X_train)
    np.testing.assert_array_equal(X[len(data.X_train) :], data.X_val)
    np.testing.assert_array_equal(y, np.concatenate([data.y_train, data.y_val]))
    X2, y2 = data.train_val()
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)


def test_rare_class_stays_encodable_when_missing_from_train() -> None:
    X = np.arange(31.0).reshape(-1, 1)
    y = np.array(["common"] * 30 + ["lonely"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for seed in range(5):
            data = prepare_arrays(X, y, seed=seed)
            assert data.n_classes == 2
            all_codes = np.concatenate([data.y_train, data.y_val, data.y_test])
            assert sorted(data.preprocessor.decode_labels(all_codes)) == sorted(y)


def test_nan_features_report_the_count_over_all_rows(tmp_path, raises_one_line) -> None:
    df = pd.DataFrame({"age": [1.0, np.nan, 3.0, np.nan, 5.0] * 4, "y": [0, 1] * 10})
    path = tmp_path / "gaps.csv"
    df.to_csv(path, index=False)
    raises_one_line(
        lambda: prepare_data(str(path), target="y", options=TableOptions(impute="none")),
        "feature 'age' has 8 missing values (NaN)",
    )


def test_one_class_target_in_a_file(tmp_path, raises_one_line) -> None:
    path = tmp_path / "flat.csv"
    pd.DataFrame({"a": range(10), "y": ["same"] * 10}).to_csv(path, index=False)
    raises_one_line(lambda: prepare_data(str(path), target="y"), "target 'y' has only one class")


def test_split_errors_surface(raises_one_line) -> None:
    raises_one_line(lambda: prepare_data("iris", val_fraction=0.0), "val_fraction")
    raises_one_line(lambda: prepare_arrays(np.zeros((2, 1)), [0.5, 1.5]), "too few rows (2)")


@pytest.mark.parametrize(
    ("X", "y", "part"),
    [
        (np.zeros((5, 2)), np.zeros(4), "X has 5 rows but y has 4"),
        (np.zeros((0, 2)), np.zeros(0), "no rows"),
        (np.zeros((3, 2, 2, 2, 2)), np.zeros(3), "must have shape"),
        (np.zeros((3, 2)), np.zeros((3, 2)), "y in arrays must have shape (rows,)"),
    ],
)
def test_prepare_arrays_shape_errors(X, y, part: str, raises_one_line) -> None:
    raises_one_line(lambda: prepare_arrays(X, y), part)
