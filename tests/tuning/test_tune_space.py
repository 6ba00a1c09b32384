"""Search space: sampling in the transformed space (:ref:`bg-search-scales`), parsing,
validation."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from caviar.errors import CaviarError
from caviar.tuning.space import Dimension, parse_dimension, parse_space

BASE = {"data": {"source": "iris"}, "train": {"epochs": 5}}


@settings(max_examples=60, deadline=None)
@given(
    a=st.floats(-8, 3),
    width=st.floats(0.0, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_log_uniform_stays_in_range(a, width, seed):
    lo, hi = 10.0**a, 10.0 ** (a + width)
    d = Dimension("optimizer.lr", "log_uniform", lo, hi)
    rng = np.random.default_rng(seed)
    xs = [d.sample(rng) for _ in range(50)]
    assert all(lo <= x <= hi for x in xs)


@settings(max_examples=20, deadline=None)
@given(a=st.integers(-6, 0), width=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_log_uniform_is_uniform_in_log_space(a, width, seed):
    """log10 of the samples is U[a, a + width] (Kolmogorov-Smirnov, scipy)."""
    d = Dimension("optimizer.lr", "log_uniform", 10.0**a, 10.0 ** (a + width))
    rng = np.random.default_rng(seed)
    r = np.log10([d.sample(rng) for _ in range(2000)])
    p = stats.kstest(r, stats.uniform(loc=a, scale=width).cdf).pvalue
    assert p > 1e-4
    # and clearly not uniform in linear space
    lin = 10.0**r
    p_lin = stats.kstest(lin, stats.uniform(loc=10.0**a, scale=10.0 ** (a + width) - 10.0**a).cdf)
    assert p_lin.pvalue < 1e-6


@settings(max_examples=60, deadline=None)
@given(
    lo=st.floats(1e-6, 0.999999),
    frac=st.floats(0, 1),
    seed=st.integers(0, 2**32 - 1),
)
def test_one_minus_log_uniform_stays_in_open_unit_interval(lo, frac, seed):
    hi = lo + (0.999999 - lo) * frac
    d = parse_dimension("optimizer.beta1", {"one_minus_log_uniform": [lo, hi]})
    rng = np.random.default_rng(seed)
    for _ in range(30):
        b = d.sample(rng)
        assert 0 < b < 1
        assert lo - 1e-12 <= b <= hi + 1e-12


def test_one_minus_log_uniform_is_uniform_in_log_of_one_minus_beta():
    d = parse_dimension("optimizer.beta2", {"one_minus_log_uniform": [0.9, 0.9999]})
    rng = np.random.default_rng(0)
    r = np.log10(1 - np.array([d.sample(rng) for _ in range(3000)]))
    assert stats.kstest(r, stats.uniform(loc=-4, scale=3).cdf).pvalue > 1e-4


@settings(max_examples=40, deadline=None)
@given(lo=st.integers(1, 50), width=st.integers(0, 500), seed=st.integers(0, 2**32 - 1))
def test_integer_dimensions_stay_in_range(lo, width, seed):
    rng = np.random.default_rng(seed)
    for kind in ("int_uniform", "int_log_uniform"):
        d = parse_dimension("train.patience", {kind: [lo, lo + width]})
        for _ in range(20):
            v = d.sample(rng)
            assert isinstance(v, int) and lo <= v <= lo + width


def test_choice_samples_every_value_including_lists():
    d = parse_dimension("model.hidden", {"choice": [[64], [128, 64]]})
    rng = np.random.default_rng(0)
    seen = {tuple(d.sample(rng)) for _ in range(50)}
    assert seen == {(64,), (128, 64)}


@pytest.mark.parametrize(
    "table, message",
    [
        ({"optimizer.lr": {"log_uniform": [1e-1, 1e-4]}}, "low 0.1 > high 0.0001"),
        ({"optimizer.lr": {"log_uniform": [0, 1e-1]}}, "positive bounds"),
        ({"optimizer.lr": {"uniform": [1e-3]}}, "needs [low, high]"),
        ({"optimizer.beta1": {"one_minus_log_uniform": [0.5, 1.0]}}, "0 < low <= high < 1"),
        ({"optimizer.nope": {"uniform": [0, 1]}}, "unknown field path 'optimizer.nope'"),
        ({"model": {"uniform": [0, 1]}}, "unknown field path 'model'"),
        ({"data.seed": {"int_uniform": [0, 3]}}, "unknown field path 'data.seed'"),
        ({"model.activation": {"choice": []}}, "non-empty list"),
        ({"model.activation": {"choice": ["relu", "swish"]}}, "model.activation"),
        ({"optimizer.lr": {"gaussian": [0, 1]}}, "unknown dimension type 'gaussian'"),
        ({"train.patience": {"int_uniform": [1.5, 3]}}, "integer bounds"),
        ({"penalty.l2_kernel": {"uniform": [-1, 1]}}, "penalty.l2_kernel"),
    ],
)
def test_bad_space_is_one_line_error(table, message):
    with pytest.raises(CaviarError) as e:
        parse_space(table, BASE)
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_transform_round_trip():
    for spec in (
        {"log_uniform": [1e-5, 1e-1]},
        {"one_minus_log_uniform": [0.9, 0.999]},
        {"uniform": [-2.0, 3.0]},
    ):
        d = parse_dimension("optimizer.lr", spec)
        for t in np.linspace(*d.bounds, 7):
            assert math.isclose(d.to_t(d.from_t(t)), t, rel_tol=1e-9, abs_tol=1e-12)
