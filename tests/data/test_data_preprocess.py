"""Standardization, one-hot and label encoding, JSON round trip (caviar.data.preprocess)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from caviar.data import CategoricalColumn, NumericColumn, Preprocessor, TableOptions


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [20.0, 30.0, 40.0, 50.0, 60.0, 100.0, 200.0],
            "color": ["red", "green", "red", "blue", "green", "purple", "red"],
            "flag": [True, False, True, True, False, False, True],
            "const": [5.0] * 7,
        }
    )


def _roundtrip(pre: Preprocessor) -> Preprocessor:
    return Preprocessor.from_json(json.loads(json.dumps(pre.to_json())))


def test_statistics_come_from_the_rows_given_to_fit_only() -> None:
    df = _frame()
    train = df.iloc[:5]
    pre = Preprocessor("regression").fit(train, np.zeros(5))
    age = pre.columns[0]
    assert isinstance(age, NumericColumn)
    assert age.mean == pytest.approx(40.0)  # train mean; the full-data mean is ~71.4
    assert age.std == pytest.approx(np.std([20.0, 30.0, 40.0, 50.0, 60.0]))
    assert age.mean != pytest.approx(df["age"].mean())
    Xt = pre.transform(train)
    assert Xt[:, 0].mean() == pytest.approx(0.0, abs=1e-12)
    assert Xt[:, 0].std() == pytest.approx(1.0)
    # rows outside the training split use the training statistics
    np.testing.assert_allclose(pre.transform(df.iloc[5:])[:, 0], (df["age"][5:] - 40.0) / age.std)


def test_constant_column_maps_to_zero() -> None:
    pre = Preprocessor("regression").fit(_frame(), np.zeros(7))
    const = pre.columns[3]
    assert const == NumericColumn("const", 5.0, 1.0)
    j = pre.feature_names.index("const")
    assert np.all(pre.transform(_frame())[:, j] == 0.0)


def test_one_hot_of_categorical_and_bool_columns() -> None:
    df = _frame()
    pre = Preprocessor("regression").fit(df, np.zeros(7))
    assert pre.columns[1] == CategoricalColumn("color", ("blue", "green", "purple", "red"))
    assert pre.columns[2] == CategoricalColumn("flag", (False, True))
    assert pre.feature_names == [
        "age",
        "color=blue",
        "color=green",
        "color=purple",
        "color=red",
        "flag=False",
        "flag=True",
        "const",
    ]
    X = pre.transform(df)
    assert X.shape == (7, 8) and X.dtype == np.float64
    np.testing.assert_array_equal(X[0, 1:5], [0, 0, 0, 1])  # red
    np.testing.assert_array_equal(X[3, 1:5], [1, 0, 0, 0])  # blue
    np.testing.assert_array_equal(X[:, 1:5].sum(axis=1), np.ones(7))
    np.testing.assert_array_equal(X[:, 6], df["flag"].astype(float))


def test_unknown_category_encodes_as_zeros() -> None:
    pre = Preprocessor("regression").fit(_frame(), np.zeros(7))
    new = _frame().iloc[:2].copy()
    new["color"] = ["orange", "green"]
    X = pre.transform(new)
    np.testing.assert_array_equal(X[0, 1:5], [0, 0, 0, 0])
    np.testing.assert_array_equal(X[1, 1:5], [0, 1, 0, 0])


def test_transform_ignores_extra_columns_and_the_target() -> None:
    df = _frame()
    pre = Preprocessor("regression", target="price").fit(df, np.arange(7.0))
    noisy = df.assign(price=np.arange(7.0), extra="x")[["extra", "price", *df.columns[::-1]]]
    np.testing.assert_array_equal(pre.transform(noisy), pre.transform(df))


def test_fit_drops_the_target_column_if_present() -> None:
    df = _frame().assign(price=np.arange(7.0))
    pre = Preprocessor("regression", target="price").fit(df, df["price"])
    assert "price" not in pre.input_columns


def test_transform_reports_missing_columns(raises_one_line) -> None:
    pre = Preprocessor("regression").fit(_frame(), np.zeros(7))
    raises_one_line(
        lambda: pre.transform(_frame().drop(columns=["age", "flag"])),
        "missing feature columns: age, flag",
    )


def test_transform_rejects_text_in_a_numeric_column(raises_one_line) -> None:
    pre = Preprocessor("regression").fit(_frame(), np.zeros(7))
    bad = _frame().assign(age=["x"] * 7)
    raises_one_line(lambda: pre.transform(bad), "feature 'age' must be numeric")


@pytest.mark.parametrize(
    "labels",
    [
        pd.Series(["cat", "dog", "bird", "dog", "cat"]),
        pd.Series([3, 1, 2, 3, 1], dtype=np.int64),
        pd.Series([10, -1, 10, 7, -1], dtype=np.int32),
        pd.Series([True, False, False, True, True]),
        pd.Series([0.5, 1.5, 0.5, 2.0, 1.5]),
        pd.Series(pd.Categorical(["lo", "hi", "mid", "hi", "lo"])),
    ],
    ids=["str", "int64", "int32", "bool", "float", "category"],
)
def test_labels_round_trip_to_original_values_and_dtype(labels: pd.Series) -> None:
    X = pd.DataFrame({"a": np.arange(5.0)})
    pre = Preprocessor("classification").fit(X, labels)
    codes = pre.encode_labels(labels)
    assert codes.dtype == np.int64
    assert pre.classes_ == sorted(set(labels.tolist()))
    np.testing.assert_array_equal(codes, [pre.classes_.index(v) for v in labels])
    back = pre.decode_labels(codes)
    expected = np.asarray(labels.astype(object) if labels.dtype == "category" else labels)
    np.testing.assert_array_equal(back, expected)
    if labels.dtype != "category":
        assert back.dtype == labels.to_numpy().dtype
    assert [type(v) for v in back.tolist()] == [type(v) for v in labels.tolist()]
    again = _roundtrip(pre)
    assert [type(c) for c in again.classes_] == [type(c) for c in pre.classes_]
    np.testing.assert_array_equal(again.decode_labels(codes), back)


def test_label_set_can_come_from_the_full_target() -> None:
    X = pd.DataFrame({"a": [1.0, 2.0]})
    pre = Preprocessor("classification").fit(X, ["b", "c"], classes=["a", "b", "c", "c"])
    assert pre.classes_ == ["a", "b", "c"] and pre.n_classes == 3
    np.testing.assert_array_equal(pre.encode_labels(["a", "c"]), [0, 2])


def test_unknown_label_is_an_error(raises_one_line) -> None:
    y = pd.Series(["x", "y"], name="kind")
    pre = Preprocessor("classification", target="kind").fit(pd.DataFrame({"a": [1, 2]}), y)
    raises_one_line(lambda: pre.encode_labels(["x", "z"]), "target 'kind'", "'z'", "'x', 'y'")


def test_regression_target_stays_raw() -> None:
    y = pd.Series([100.0, 250.5, -3.0], name="price")
    pre = Preprocessor("regression", target="price").fit(pd.DataFrame({"a": [1, 2, 3]}), y)
    out = pre.encode_labels(y)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, y.to_numpy())
    np.testing.assert_array_equal(pre.decode_labels(out), y.to_numpy())


def test_json_round_trip_is_exact() -> None:
    rng = np.random.default_rng(1)
    df = _frame().assign(noise=rng.normal(size=7) * 1e-3 + 1 / 3)
    labels = pd.Series([1, 2, 1, 2, 3, 3, 1], name="grade")
    pre = Preprocessor("classification", target="grade").fit(df, labels)
    payload = json.dumps(pre.to_json())
    again = Preprocessor.from_json(json.loads(payload))
    assert again.to_json() == pre.to_json()
    assert json.dumps(again.to_json()) == payload
    assert again.columns == pre.columns
    probe = df.assign(color=["teal", "red", "blue", "red", "green", "purple", "red"])
    np.testing.assert_array_equal(again.transform(probe), pre.transform(probe))
    np.testing.assert_array_equal(again.encode_labels(labels), pre.encode_labels(labels))
    assert again.decode_labels(np.array([0, 2])).tolist() == [1, 3]


def test_from_json_rejects_other_documents(raises_one_line) -> None:
    raises_one_line(lambda: Preprocessor.from_json({"hello": 1}), "invalid preprocessor JSON")
    pre = Preprocessor("regression").fit(_frame(), np.zeros(7))
    doc = pre.to_json()
    del doc["features"]
    raises_one_line(lambda: Preprocessor.from_json(doc), "invalid preprocessor JSON")
    raises_one_line(lambda: Preprocessor.from_json({**pre.to_json(), "version": 99}), "version 99")


# ---------------------------------------------------------------- bad values
NO_IMPUTE = TableOptions(impute="none")  # the refusal of missing values (data.impute = "none")


def test_nan_feature_named_with_count(raises_one_line) -> None:
    df = _frame()
    df.loc[[0, 2, 4], "age"] = np.nan
    raises_one_line(
        lambda: Preprocessor("regression", options=NO_IMPUTE).fit(df, np.zeros(7)),
        "feature 'age' has 3 missing values (NaN); fill or drop them first",
    )


def test_several_columns_with_missing_values(raises_one_line) -> None:
    df = _frame().astype({"color": object})
    df.loc[0, "age"] = np.nan
    df.loc[[1, 2], "color"] = None
    raises_one_line(
        lambda: Preprocessor("regression", options=NO_IMPUTE).fit(df, np.zeros(7)),
        "2 features have missing values (NaN)",
        "'age' (1)",
        "'color' (2)",
    )


def test_infinite_feature(raises_one_line) -> None:
    df = _frame()
    df.loc[1, "age"] = np.inf
    raises_one_line(
        lambda: Preprocessor("regression").fit(df, np.zeros(7)),
        "feature 'age' has 1 infinite value",
    )


def test_nan_at_transform_time(raises_one_line) -> None:
    pre = Preprocessor("regression", options=NO_IMPUTE).fit(_frame(), np.zeros(7))
    df = _frame()
    df.loc[3, "age"] = np.nan
    raises_one_line(lambda: pre.transform(df), "feature 'age' has 1 missing value (NaN)")


def test_nan_in_target(raises_one_line) -> None:
    y = pd.Series([1.0, np.nan, 0.0, 1.0, 0.0, 1.0, 0.0], name="label")
    raises_one_line(
        lambda: Preprocessor("classification", target="label").fit(_frame(), y),
        "target 'label'",
        "missing",
    )
    raises_one_line(
        lambda: Preprocessor("regression", target="label").fit(_frame(), y),
        "target 'label' has 1 missing value",
    )


def test_unsupported_feature_dtype(raises_one_line) -> None:
    df = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=3)})
    raises_one_line(
        lambda: Preprocessor("regression").fit(df, np.zeros(3)),
        "feature 'when' has unsupported dtype",
    )


def test_unfitted_preprocessor(raises_one_line) -> None:
    raises_one_line(lambda: Preprocessor("regression").transform(_frame()), "not fitted")


def test_transform_accepts_arrays_in_fitted_column_order(raises_one_line) -> None:
    df = pd.DataFrame({"a": [1.0, 2.0, 4.0], "b": ["x", "y", "x"]})
    pre = Preprocessor("regression").fit(df, np.zeros(3))
    np.testing.assert_array_equal(pre.transform(df.to_numpy(dtype=object)), pre.transform(df))
    raises_one_line(lambda: pre.transform(np.zeros((3, 5))), "(rows, 2)", "(3, 5)")


def test_decode_rejects_out_of_range_codes(raises_one_line) -> None:
    pre = Preprocessor("classification").fit(pd.DataFrame({"a": [1, 2]}), ["p", "q"])
    raises_one_line(lambda: pre.decode_labels(np.array([0, 2])), "[0, 2)")
