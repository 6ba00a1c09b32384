"""The synthetic signal task: seeded, balanced, of the documented shapes."""

from __future__ import annotations

import numpy as np
import pytest

from caviar.data import prepare_arrays
from caviar.data.synthetic import SHAPES, make_signals


def test_same_seed_same_arrays_other_seed_other_arrays():
    X1, y1 = make_signals(200, 40, n_classes=4, seed=3)
    X2, y2 = make_signals(200, 40, n_classes=4, seed=3)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    X3, y3 = make_signals(200, 40, n_classes=4, seed=4)
    assert not np.array_equal(X1, X3)
    assert not np.array_equal(y1, y3)


@pytest.mark.parametrize("n,k", [(4000, 4), (203, 6), (11, 2)])
def test_classes_balanced_shapes_and_dtypes(n, k):
    X, y = make_signals(n, 48, n_classes=k, seed=0, channels=2)
    assert X.shape == (n, 2, 48) and X.dtype == np.float32
    assert y.shape == (n,) and y.dtype == np.int64
    counts = np.bincount(y, minlength=k)
    assert len(counts) == k and counts.max() - counts.min() <= 1
    assert not np.array_equal(y, np.sort(y))  # shuffled, not in blocks
    assert np.isfinite(X).all()


def test_shape_sits_on_the_first_channel_others_are_noise():
    X, _ = make_signals(600, 48, n_classes=4, seed=1, channels=2, noise=0.3)
    # channel 1 is N(0, 0.3^2) noise; channel 0 adds the shape and an offset
    assert abs(X[:, 1].std() - 0.3) < 0.01 and abs(X[:, 1].mean()) < 0.01
    assert X[:, 0].std() > 2 * X[:, 1].std()


def test_noise_free_shapes_follow_their_formulas():
    X, y = make_signals(300, 64, n_classes=6, seed=2, noise=0.0)
    for i in range(len(y)):
        x = X[i, 0]
        d = np.diff(x)
        if SHAPES[y[i]] == "square":  # a constant level with one pulse: two jumps
            assert (np.abs(d) > 1e-4).sum() <= 2
        if SHAPES[y[i]] == "ramp":  # constant slope inside the pulse
            inner = d[np.abs(d) > 1e-6]
            steps = np.unique(np.round(inner, 4))
            assert len(steps) <= 3  # the slope, and the jumps up / down at the ends


def test_prepares_as_signals():
    X, y = make_signals(100, 40, seed=0)
    data = prepare_arrays(X, y, seed=0)
    assert tuple(data.input_shape) == (1, 40) and data.n_classes == 4


@pytest.mark.parametrize(
    "kwargs",
    [{"n_classes": 1}, {"n_classes": 7}, {"n": 3}, {"length": 7}, {"channels": 0}, {"noise": -1}],
)
def test_bad_arguments_raise(kwargs):
    with pytest.raises(ValueError):
        make_signals(**{"n": 100, **kwargs})
