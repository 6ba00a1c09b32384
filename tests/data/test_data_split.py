"""Seeded, stratified train/val/test splits (caviar.data.split)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from caviar.data import load_source, split_indices


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


@pytest.mark.parametrize(
    ("n", "val", "test"), [(101, 0.2, 0.2), (150, 0.1, 0.3), (37, 0.25, 0.0), (10, 0.15, 0.15)]
)
def test_sizes_match_fractions_and_splits_partition_rows(n: int, val: float, test: float) -> None:
    train, val_idx, test_idx = split_indices(
        n, None, task="regression", val_fraction=val, test_fraction=test, seed=3
    )
    assert len(test_idx) == (max(1, _round_half_up(test * n)) if test else 0)
    assert len(val_idx) == max(1, _round_half_up(val * n))
    assert len(train) == n - len(val_idx) - len(test_idx)
    everything = np.concatenate([train, val_idx, test_idx])
    assert sorted(everything.tolist()) == list(range(n))  # disjoint and covering
    for part in (train, val_idx, test_idx):
        assert part.dtype == np.int64
        assert np.all(np.diff(part) > 0)  # sorted


def test_same_seed_same_split_different_seed_different_split() -> None:
    y = load_source("wine").y.to_numpy()
    a = split_indices(len(y), y, task="classification", seed=7)
    b = split_indices(len(y), y, task="classification", seed=7)
    c = split_indices(len(y), y, task="classification", seed=8)
    for x, z in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, z)
    assert any(not np.array_equal(x, z) for x, z in zip(a, c, strict=True))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("name", ["wine", "digits", "imbalanced"])
def test_stratified_split_preserves_class_proportions(name: str, seed: int) -> None:
    if name == "imbalanced":
        y = np.array(["a"] * 70 + ["b"] * 22 + ["c"] * 9)
    else:
        y = load_source(name).y.to_numpy()
    val_f, test_f = 0.2, 0.25
    train, val, test = split_indices(
        len(y), y, task="classification", val_fraction=val_f, test_fraction=test_f, seed=seed
    )
    for label in np.unique(y):
        total = np.sum(y == label)
        for idx, frac in ((train, 1 - val_f - test_f), (val, val_f), (test, test_f)):
            assert abs(np.sum(y[idx] == label) - frac * total) <= 1.0


def test_zero_test_fraction_gives_empty_test_split() -> None:
    y = np.array([0, 1] * 25)
    train, val, test = split_indices(50, y, task="classification", test_fraction=0.0)
    assert len(test) == 0 and len(val) == 10 and len(train) == 40


def test_rare_class_falls_back_to_unstratified_with_warning() -> None:
    y = np.array(["common"] * 30 + ["lonely"])
    with pytest.warns(UserWarning, match="rarest class 'lonely' has 1 row "):
        train, val, test = split_indices(31, y, task="classification", seed=0)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(31))
    assert (len(val), len(test)) == (6, 6)


def test_stratifiable_data_does_not_warn() -> None:
    y = np.array([0, 1, 2] * 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        split_indices(30, y, task="classification")


@pytest.mark.parametrize(
    ("val", "test", "part"),
    [
        (0.0, 0.2, "val_fraction must be in (0, 1)"),
        (1.0, 0.0, "val_fraction must be in (0, 1)"),
        (0.2, -0.1, "test_fraction must be in [0, 1)"),
        (0.5, 0.5, "val_fraction + test_fraction must be < 1"),
        (float("nan"), 0.2, "val_fraction must be a number"),
    ],
)
def test_bad_fractions(val: float, test: float, part: str, raises_one_line) -> None:
    raises_one_line(
        lambda: split_indices(100, None, task="regression", val_fraction=val, test_fraction=test),
        part,
    )


def test_too_few_rows(raises_one_line) -> None:
    raises_one_line(lambda: split_indices(2, None, task="regression"), "too few rows (2)")


def test_target_length_must_match(raises_one_line) -> None:
    raises_one_line(
        lambda: split_indices(10, np.zeros(9), task="classification"), "10 rows", "9 values"
    )
