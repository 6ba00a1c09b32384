"""Strategies: grid coverage, coarse-to-fine concentration, TPE, determinism."""

import itertools

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from caviar.tuning.space import SearchSpace, parse_dimension
from caviar.tuning.strategies import (
    CoarseToFineStrategy,
    GridStrategy,
    RandomStrategy,
    TPEStrategy,
)


def space_of(**specs):
    return SearchSpace(tuple(parse_dimension(p.replace("__", "."), s) for p, s in specs.items()))


@settings(max_examples=30, deadline=None)
@given(
    points=st.integers(1, 4),
    n_choices=st.integers(1, 4),
    int_width=st.integers(0, 5),
    batch=st.integers(1, 7),
)
def test_grid_covers_every_combination_once(points, n_choices, int_width, batch):
    space = space_of(
        optimizer__lr={"log_uniform": [1e-4, 1e-1]},
        model__activation={"choice": ["relu", "tanh", "sigmoid", "leaky_relu"][:n_choices]},
        train__patience={"int_uniform": [2, 2 + int_width]},
    )
    g = GridStrategy(points)
    size = g.size(space)
    assert size == points * n_choices * min(int_width + 1, points)
    got, history = [], []
    while len(got) < size + 3:
        batch_ = g.suggest(space, history, batch, np.random.default_rng(0))
        if not batch_:
            break
        got.extend(batch_)
        history.extend((p, 0.0) for p in batch_)
    keys = [tuple((k, str(v)) for k, v in sorted(p.items())) for p in got]
    assert len(keys) == size == len(set(keys))
    axes = g.axes(space)
    expected = {
        tuple(sorted(zip(space.paths, map(str, c), strict=True))) for c in itertools.product(*axes)
    }
    assert set(keys) == expected


def test_grid_points_are_log_spaced():
    space = space_of(optimizer__lr={"log_uniform": [1e-4, 1e-0]})
    vals = [p["optimizer.lr"] for p in GridStrategy(5).suggest(space, [], 10, None)]
    np.testing.assert_allclose(vals, [1e-4, 1e-3, 1e-2, 1e-1, 1.0], rtol=1e-12)


def objective(p):
    """A synthetic validation score peaked at lr = 1e-2.5, beta = 1 - 1e-2."""
    r1 = np.log10(p["optimizer.lr"])
    r2 = np.log10(1 - p["optimizer.beta1"])
    return -((r1 + 2.5) ** 2) - (r2 + 2.0) ** 2


def run(strategy, space, rounds, batch, seed=0):
    history = []
    for r in range(rounds):
        ps = strategy.suggest(space, history, batch, np.random.default_rng([seed, r]))
        history.extend((p, objective(p)) for p in ps)
    return history


# derandomize: CI must not depend on which seeds Hypothesis draws; over 600 random
# seeds the largest median distance seen was 0.31 decades (one rare seed gives 0.67)
@settings(max_examples=10, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1))
def test_coarse_to_fine_concentrates_around_the_optimum(seed):
    space = space_of(
        optimizer__lr={"log_uniform": [1e-6, 1e0]},
        optimizer__beta1={"one_minus_log_uniform": [0.5, 0.99999]},
    )
    hist = run(CoarseToFineStrategy(0.25, 0.5, batch=20), space, 5, 20, seed)
    first = [np.log10(p["optimizer.lr"]) for p, _ in hist[:20]]
    last = [np.log10(p["optimizer.lr"]) for p, _ in hist[-20:]]
    # the last round samples near the optimum r = -2.5 (the space spans 6 decades),
    # far tighter than the coarse round
    assert abs(np.median(last) + 2.5) < 0.75
    assert np.mean(np.abs(np.array(last) + 2.5)) < 0.5 * np.mean(np.abs(np.array(first) + 2.5))
    rand = run(RandomStrategy(), space, 5, 20, seed)
    assert max(s for _, s in hist) >= max(s for _, s in rand) - 0.05


def test_tpe_suggests_in_range_and_improves_on_its_startup():
    space = space_of(
        optimizer__lr={"log_uniform": [1e-6, 1e0]},
        optimizer__beta1={"one_minus_log_uniform": [0.5, 0.99999]},
        model__activation={"choice": ["relu", "tanh"]},
    )
    hist = run(TPEStrategy(n_startup_trials=10), space, 4, 10, seed=1)
    for p, _ in hist:
        assert 1e-6 <= p["optimizer.lr"] <= 1.0 and 0.5 <= p["optimizer.beta1"] <= 0.99999
    startup = np.mean([s for _, s in hist[:10]])
    later = np.mean([s for _, s in hist[-10:]])
    assert later > startup


def test_strategies_are_deterministic_given_rng():
    space = space_of(optimizer__lr={"log_uniform": [1e-4, 1e-1]})
    for s in (RandomStrategy(), CoarseToFineStrategy(), TPEStrategy()):
        a = s.suggest(space, [], 5, np.random.default_rng(3))
        b = s.suggest(space, [], 5, np.random.default_rng(3))
        assert a == b
