"""Task detection (caviar.data.task)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from caviar.data import detect_task, load_source
from caviar.errors import CaviarError


@pytest.mark.parametrize(
    ("y", "expected"),
    [
        (pd.Series(["cat", "dog"] * 10), "classification"),
        (pd.Series([True, False] * 10), "classification"),
        (pd.Series(pd.Categorical([1.5, 2.5] * 10)), "classification"),
        (np.array([0, 1, 2] * 20), "classification"),  # 3 values, 20 rows each
        (np.array([0.0, 1.0] * 3), "classification"),  # whole floats, binary
        (np.array([0, 1, 0, 1]), "classification"),  # binary: always classification
        (np.arange(20).repeat(5), "classification"),  # 20 values, 5 rows each
        (np.arange(21).repeat(5), "regression"),  # 21 distinct values > 20
        (np.arange(10).repeat(4), "regression"),  # 10 values, only 4 rows each
        (np.array([0.5, 1.0, 2.0] * 20), "regression"),  # not whole numbers
        (np.linspace(0.0, 1.0, 50), "regression"),
    ],
)
def test_auto_rule(y, expected: str) -> None:
    assert detect_task(y) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("iris", "classification"),
        ("wine", "classification"),
        ("breast_cancer", "classification"),
        ("digits", "classification"),
        ("diabetes", "regression"),
    ],
)
def test_bundled_datasets_get_the_right_task(name: str, expected: str) -> None:
    assert detect_task(load_source(name).y) == expected


def test_caller_can_override() -> None:
    ints = np.array([0, 1, 2] * 20)
    assert detect_task(ints, "regression") == "regression"
    assert detect_task(np.repeat([0.5, 1.5, 2.5], 10), "classification") == "classification"
    # a continuous quantity forced to classification is refused (issue 13: it made 50
    # one-row classes); whole-number floats and a few repeated values stay classes
    with pytest.raises(CaviarError, match="is continuous"):
        detect_task(np.linspace(0.0, 1.0, 50), "classification")


def test_one_class_is_an_error(raises_one_line) -> None:
    y = pd.Series(["spam"] * 8, name="kind")
    raises_one_line(lambda: detect_task(y), "target 'kind' has only one class", "'spam'", "8 rows")
    raises_one_line(lambda: detect_task(np.ones(5), "classification"), "target 'y'", "one class")


def test_regression_needs_numbers(raises_one_line) -> None:
    y = pd.Series(["a", "b", "c"], name="grade")
    raises_one_line(lambda: detect_task(y, "regression"), "target 'grade' is not numeric")
    bools = pd.Series([True, False, True], name="flag")
    raises_one_line(lambda: detect_task(bools, "regression"), "target 'flag' is not numeric")


def test_regression_rejects_infinite(raises_one_line) -> None:
    y = pd.Series([1.5, np.inf, 2.5], name="price")
    raises_one_line(lambda: detect_task(y, "regression"), "target 'price'", "1 infinite value")


def test_missing_target_values(raises_one_line) -> None:
    y = pd.Series([1.0, np.nan, 2.0, np.nan], name="price")
    raises_one_line(lambda: detect_task(y), "target 'price' has 2 missing values (NaN)")
    labels = pd.Series(["a", None, "b"], name="kind")
    raises_one_line(lambda: detect_task(labels), "target 'kind' has 1 missing value")


def test_unknown_task_name(raises_one_line) -> None:
    raises_one_line(lambda: detect_task([0, 1], "clustering"), "unknown task 'clustering'")
