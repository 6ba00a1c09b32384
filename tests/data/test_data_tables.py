"""Tables as they come: imputation, missing indicators, categorical levels (pooled,
missing, unseen), the two-step encoding, and the data errors of a raw table."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from caviar.data import (
    CategoricalColumn,
    NumericColumn,
    Preprocessor,
    TableOptions,
    fitted_arrays,
    model_input,
    prepare_arrays,
    prepare_data,
    split_indices,
    table_codes,
)
from caviar.errors import CaviarWarning


def _gappy(n: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n).round(1),
            "income": rng.lognormal(10, 1, n),
            "plan": rng.choice(["basic", "plus", "pro"], n).astype(object),
        }
    )
    df.loc[rng.random(n) < 0.2, "age"] = np.nan
    df.loc[rng.random(n) < 0.2, "plan"] = None
    return df


# ------------------------------------------------------------------ imputation
@pytest.mark.parametrize(
    ("impute", "expected"),
    [
        ("median", lambda v: np.median(v)),
        ("mean", lambda v: v.mean()),
        ("most_frequent", lambda v: np.unique(v)[np.argmax(np.unique(v, return_counts=True)[1])]),
        ("constant", lambda v: -7.5),
    ],
)
def test_fill_value_then_statistics_of_the_filled_column(impute, expected) -> None:
    df = _gappy()
    pre = Preprocessor("regression", options=TableOptions(impute=impute, fill_value=-7.5))
    pre.fit(df, np.zeros(len(df)))
    age = pre.columns[0]
    observed = df["age"].dropna().to_numpy()
    assert age.fill == pytest.approx(expected(observed), rel=1e-12)
    filled = df["age"].fillna(age.fill).to_numpy()
    assert age.mean == pytest.approx(filled.mean(), rel=1e-12)
    assert age.std == pytest.approx(filled.std(), rel=1e-12)
    assert age.indicator and pre.feature_names[:2] == ["age", "age:missing"]
    X = pre.transform(df)
    gaps = df["age"].isna().to_numpy()
    np.testing.assert_allclose(X[:, 0], (filled - age.mean) / age.std, rtol=1e-12)
    np.testing.assert_array_equal(X[:, 1], gaps.astype(float))
    assert pre.last_counts["imputed"] == {"age": int(gaps.sum())}
    income = pre.columns[1]
    assert income.fill is None and not income.indicator  # no gap in training


def test_no_indicator_when_switched_off_and_gap_free_column_fills_with_its_mean() -> None:
    df = _gappy()
    pre = Preprocessor("regression", options=TableOptions(missing_indicator=False))
    pre.fit(df, np.zeros(len(df)))
    assert "age:missing" not in pre.feature_names
    new = df.head(3).copy()
    new["income"] = np.nan  # a gap where training had none: the mean, standardized 0
    j = pre.feature_names.index("income")
    np.testing.assert_array_equal(pre.transform(new)[:, j], 0.0)


def test_all_missing_training_column_is_an_error(raises_one_line) -> None:
    df = pd.DataFrame({"a": [np.nan] * 4, "b": [1.0, 2.0, 3.0, 4.0]})
    raises_one_line(
        lambda: Preprocessor("regression").fit(df, np.zeros(4)), "feature 'a' has no value"
    )


# --------------------------------------------------------------- categorical
def test_missing_is_its_own_level_and_high_cardinality_pools_into_other() -> None:
    rng = np.random.default_rng(1)
    cities = np.array([f"c{i:02d}" for i in range(50)], dtype=object)
    weights = np.linspace(50, 1, 50)
    df = pd.DataFrame({"city": rng.choice(cities, 2000, p=weights / weights.sum())})
    df.loc[:9, "city"] = None
    pre = Preprocessor("regression", options=TableOptions(max_onehot=8)).fit(df, np.zeros(2000))
    col = pre.columns[0]
    counts = df["city"].value_counts(dropna=False)
    top8 = set(counts.index[:8])
    assert set(col.categories) == top8 and col.other and len(col.pooled) == 43
    assert None not in col.categories  # 10 missing rows: rarer than the top 8
    assert None in col.pooled
    X = pre.transform(df)
    assert X.shape == (2000, 9) and np.all(X.sum(axis=1) == 1.0)
    other = pre.feature_names.index("city=<other>")
    np.testing.assert_array_equal(X[:, other] == 1, ~df["city"].isin(top8).to_numpy())


def test_min_frequency_pools_rare_levels_and_missing_level_when_frequent() -> None:
    df = pd.DataFrame({"c": ["a"] * 5 + ["b"] * 5 + ["r"] * 2 + [None] * 5})
    pre = Preprocessor("regression", options=TableOptions(min_frequency=3))
    pre.fit(df, np.zeros(len(df)))
    assert pre.columns[0] == CategoricalColumn("c", ("a", "b", None), True, ("r",))
    assert pre.feature_names == ["c=a", "c=b", "c=<missing>", "c=<other>"]
    X = pre.transform(df)
    np.testing.assert_array_equal(X[10:12], [[0, 0, 0, 1]] * 2)
    np.testing.assert_array_equal(X[12:], [[0, 0, 1, 0]] * 5)


def test_unseen_categories_warn_with_counts_error_or_pass_silently(raises_one_line) -> None:
    df = pd.DataFrame({"c": ["a", "b", "a", "b"], "d": ["x", "y", "x", "x"]})
    new = pd.DataFrame({"c": ["a", "zz", "zz"], "d": ["w", "x", "x"]})
    pre = Preprocessor("regression").fit(df, np.zeros(4))
    with pytest.warns(CaviarWarning, match=r"3 values of categories never seen") as rec:
        X = pre.transform(new)
    assert "'c' (2, e.g. 'zz')" in str(rec[0].message) and "'d' (1" in str(rec[0].message)
    np.testing.assert_array_equal(X[1], [0, 0, 1, 0])  # no 'other' level: all zeros
    assert pre.last_counts["unknown"] == {"c": 2, "d": 1}
    strict = Preprocessor("regression", options=TableOptions(unknown="error")).fit(df, [0] * 4)
    raises_one_line(lambda: strict.transform(new), "never seen in training", "'c' (2")
    quiet = Preprocessor("regression", options=TableOptions(unknown="ignore")).fit(df, [0] * 4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(quiet.transform(new), X)


def test_unseen_level_takes_the_other_slot_when_there_is_one() -> None:
    df = pd.DataFrame({"c": ["a"] * 4 + ["b"] * 4 + ["rare"]})
    pre = Preprocessor("regression", options=TableOptions(min_frequency=2)).fit(df, [0] * 9)
    with pytest.warns(CaviarWarning, match="1 value"):
        X = pre.transform(pd.DataFrame({"c": ["rare", "new"]}))
    np.testing.assert_array_equal(X, [[0, 0, 1], [0, 0, 1]])


# ------------------------------------------------------------ the two steps
def _step_two_in_torch(arrays: dict, numbers: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Step 2 written with torch tensor operations only (what an export builds)."""
    x = torch.as_tensor(numbers)
    c = torch.as_tensor(codes)
    missing = torch.isnan(x)
    fill, mean, std = (torch.as_tensor(arrays[k]) for k in ("fill", "mean", "std"))
    z = (torch.where(missing, fill.expand_as(x), x) - mean) / std
    parts = []
    for k in arrays["order"].tolist():
        if k >= 0:
            parts.append(z[:, k : k + 1])
            if arrays["indicator"][k]:
                parts.append(missing[:, k : k + 1].to(x.dtype))
        else:
            width = int(arrays["width"][-1 - k])
            one_hot = torch.nn.functional.one_hot(c[:, -1 - k], width + 1).to(x.dtype)
            parts.append(one_hot[:, :width])
    return torch.cat(parts, dim=1).numpy()


def test_transform_is_codes_then_tensor_ops_and_survives_json() -> None:
    df = _gappy(80).assign(flag=[True, False] * 40)
    pre = Preprocessor("regression", options=TableOptions(max_onehot=2)).fit(df, np.zeros(80))
    probe = df.head(20).copy()
    probe.loc[0, "plan"] = "enterprise"
    probe.loc[1, "income"] = np.nan
    with pytest.warns(CaviarWarning):
        X = pre.transform(probe)
    codes = table_codes(pre.columns, probe)
    arrays = fitted_arrays(pre.columns)
    np.testing.assert_array_equal(model_input(arrays, codes.numbers, codes.codes), X)
    np.testing.assert_allclose(_step_two_in_torch(arrays, codes.numbers, codes.codes), X, 1e-15)
    doc = json.loads(json.dumps(pre.to_json()))
    plan = doc["features"][2]
    assert doc["version"] == 2 and plan["other"] and None in plan["categories"] + plan["pooled"]
    again = Preprocessor.from_json(doc)
    assert again.columns == pre.columns and again.options == pre.options
    with pytest.warns(CaviarWarning):
        np.testing.assert_array_equal(again.transform(probe), X)


def test_version_one_documents_still_read() -> None:
    doc = {
        "format": "caviar.preprocessor",
        "version": 1,
        "task": "regression",
        "target": "y",
        "features": [
            {"name": "a", "kind": "numeric", "mean": 1.0, "std": 2.0},
            {"name": "b", "kind": "categorical", "categories": ["p", "q"]},
        ],
        "classes": None,
        "label_dtype": "float64",
    }
    pre = Preprocessor.from_json(doc)
    assert pre.columns == [NumericColumn("a", 1.0, 2.0), CategoricalColumn("b", ("p", "q"))]
    np.testing.assert_array_equal(
        pre.transform(pd.DataFrame({"a": [3.0], "b": ["q"]})), [[1, 0, 1]]
    )


# ------------------------------------------------- fitted on the training split only
def test_a_sentinel_only_in_validation_rows_never_reaches_the_fitted_statistics() -> None:
    df = _gappy(100)
    y = np.arange(100) % 2
    _, val_idx, _ = split_indices(100, y, task="classification", seed=3)
    df.loc[val_idx, "age"] = 1e6
    df.loc[val_idx[:5], "plan"] = "SENTINEL"
    df.loc[val_idx[5:], "income"] = np.nan  # gaps in validation rows only
    data = prepare_arrays(df, y, seed=3, task="classification")
    np.testing.assert_array_equal(data.val_idx, val_idx)
    train = df.iloc[data.train_idx]
    age, income, plan = data.preprocessor.columns
    assert age.fill == np.median(train["age"].dropna()) and age.mean < 100 and age.std < 100
    assert income.fill is None and not income.indicator  # no gap among the training rows
    assert income.mean == pytest.approx(train["income"].mean(), rel=1e-12)
    assert "SENTINEL" not in plan.categories + plan.pooled
    assert data.imputed["income"] == len(val_idx) - 5


# ----------------------------------------------------------------- the target
def test_rows_with_a_missing_target_are_dropped_with_a_count(tmp_path) -> None:
    df = _gappy(50).assign(y=[0.0, 1.0] * 25)
    df.loc[[3, 8, 9], "y"] = np.nan
    path = tmp_path / "t.csv"
    df.to_csv(path, index=False)
    with pytest.warns(CaviarWarning, match=r"dropped 3 rows whose target 'y' is missing"):
        data = prepare_data(str(path), target="y", test_fraction=0.0)
    assert data.dropped_rows == 3
    assert len(data.y_train) + len(data.y_val) == 47


def test_standardized_regression_target_is_fitted_on_training_rows_and_decoded() -> None:
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 2)), rng.normal(5e4, 1e4, 40)
    data = prepare_arrays(X, y, task="regression", options=TableOptions(standardize_target=True))
    pre = data.preprocessor
    assert pre.target_mean == pytest.approx(y[data.train_idx].mean(), rel=1e-12)
    np.testing.assert_allclose(data.y_val, (y[data.val_idx] - pre.target_mean) / pre.target_std)
    np.testing.assert_allclose(pre.decode_labels(data.y_val), y[data.val_idx], rtol=1e-12)


# ---------------------------------------------------- data errors (issue 27 point 5)
def test_a_stray_string_in_a_numeric_column_names_column_and_row(tmp_path, raises_one_line):
    path = tmp_path / "stray.csv"
    values = [str(v) for v in range(1, 41)]
    values[16] = "oops"
    pd.DataFrame({"x": values, "z": np.arange(40.0), "y": [0, 1] * 20}).to_csv(path, index=False)
    raises_one_line(
        lambda: prepare_data(str(path), target="y"),
        "feature 'x'",
        "'oops'",
        "row 17",
        "data.categorical",
    )
    data = prepare_data(
        str(path), target="y", options=TableOptions(categorical=("x",), min_frequency=1)
    )
    assert "x=oops" in data.feature_names  # declared categorical: encoded as levels


def test_values_near_the_float_limit_name_the_column(tmp_path, raises_one_line) -> None:
    df = pd.DataFrame({"big": [1.7e308, -1.7e308, 1.0, 2.0] * 5, "y": [0, 1] * 10})
    raises_one_line(lambda: prepare_arrays(df[["big"]], df["y"]), "feature 'big'", "too large")


def test_a_parquet_column_of_lists_names_the_column(tmp_path, raises_one_line) -> None:
    path = tmp_path / "lists.parquet"
    df = pd.DataFrame({"tags": [[1, 2], [3]] * 10, "x": np.arange(20.0), "y": [0, 1] * 10})
    df.to_parquet(path)
    raises_one_line(lambda: prepare_data(str(path), target="y"), "feature 'tags'", "lists")


def test_fractions_leaving_a_class_without_training_rows(raises_one_line) -> None:
    y = np.repeat(np.arange(6), 2)
    raises_one_line(
        lambda: prepare_arrays(
            np.zeros((12, 1)), y, task="classification", val_fraction=0.45, test_fraction=0.4
        ),
        "leave 2 training rows for 6 classes",
    )
