"""Optuna's samplers as strategies: a round asked at once, reproducible, state kept across
rounds (CMA-ES generations, NSGA generations, QMC sequence); bad sampler arguments are
one-line errors."""

import warnings

import numpy as np
import optuna
import pytest
from tests.tuning.tune_helpers import iris_config

from caviar.errors import CaviarError, CaviarWarning
from caviar.tuning import tune
from caviar.tuning.settings import SearchSettings
from caviar.tuning.space import SearchSpace, parse_dimension
from caviar.tuning.strategies import OptunaSamplerStrategy, make_strategy

SAMPLERS = ["gp", "cmaes", "qmc", "nsga2", "nsga3", "tpe"]


def space_of(**specs):
    return SearchSpace(tuple(parse_dimension(p.replace("__", "."), s) for p, s in specs.items()))


NUMERIC = dict(
    optimizer__lr={"log_uniform": [1e-6, 1e0]},
    optimizer__beta1={"one_minus_log_uniform": [0.5, 0.99999]},
)


def objective(p):
    """Peaked at lr = 10^-2.5, beta1 = 1 - 10^-2."""
    r1, r2 = np.log10(p["optimizer.lr"]), np.log10(1 - p["optimizer.beta1"])
    return -((r1 + 2.5) ** 2) - (r2 + 2) ** 2


def run_rounds(strategy, space, rounds, batch, seed=0):
    history = []
    for r in range(rounds):
        ps = strategy.suggest(space, list(history), batch, np.random.default_rng([seed, r]))
        assert len(ps) == batch
        history.extend((p, objective(p)) for p in ps)
    return history


def strategy_for(name, batch, **sampler):
    s = SearchSettings(strategy=name, trials=64, batch=batch, seed=3, sampler=sampler)
    return make_strategy(s)


@pytest.mark.parametrize("name", SAMPLERS)
def test_each_sampler_suggests_in_range_and_reproducibly(name):
    space = space_of(**NUMERIC, model__activation={"choice": ["relu", "tanh"]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CaviarWarning)
        a = run_rounds(strategy_for(name, 6), space, 3, 6)
        b = run_rounds(strategy_for(name, 6), space, 3, 6)
    assert [p for p, _ in a] == [p for p, _ in b]  # same seed, same history: same trials
    for p, _ in a:
        assert 1e-6 <= p["optimizer.lr"] <= 1.0 and 0.5 <= p["optimizer.beta1"] <= 0.99999
        assert p["model.activation"] in ("relu", "tanh")
    assert len({(p["optimizer.lr"], p["optimizer.beta1"]) for p, _ in a}) == len(a)  # spread


@pytest.mark.parametrize("name", ["cmaes", "nsga2", "qmc"])
def test_stateful_samplers_replay_their_own_earlier_rounds(name, monkeypatch):
    """Round r rebuilt from the history replays rounds 0..r-1 ask for ask: no replayed ask
    falls back to an added trial (that would lose the sampler's generations)."""
    space = space_of(**NUMERIC)
    fallbacks = []
    real_add = optuna.study.Study.add_trial
    monkeypatch.setattr(
        optuna.study.Study, "add_trial", lambda self, t: (fallbacks.append(t), real_add(self, t))
    )
    args = {"population_size": 5} if name == "nsga2" else {}
    run_rounds(strategy_for(name, 5, **args), space, 4, 5)
    assert fallbacks == []


def test_cmaes_moves_toward_the_optimum_across_rounds():
    """With its generations kept, CMA-ES concentrates near the optimum (a sampler that
    lost its state would keep drawing from its first distribution)."""
    space = space_of(**NUMERIC)
    hist = run_rounds(strategy_for("cmaes", 8, popsize=8), space, 8, 8, seed=1)
    first = np.mean([-s for _, s in hist[:8]])
    last = np.mean([-s for _, s in hist[-8:]])
    assert last < 0.2 * first


def test_qmc_round_is_the_sobol_sequence():
    """QMC (unscrambled Sobol) asked a round at a time gives the same points as Optuna's
    own QMCSampler asked one trial at a time."""
    space = space_of(
        optimizer__lr={"uniform": [0.1, 1.0]}, optimizer__beta1={"uniform": [0.5, 0.9]}
    )
    hist = run_rounds(strategy_for("qmc", 4), space, 2, 4)
    ref = optuna.create_study(sampler=optuna.samplers.QMCSampler(seed=3))
    dist = {
        "optimizer.lr": optuna.distributions.FloatDistribution(0.1, 1.0),
        "optimizer.beta1": optuna.distributions.FloatDistribution(0.5, 0.9),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = []
        for _ in range(8):
            t = ref.ask(dist)
            expected.append(t.params)
            ref.tell(t, 0.0)
    assert [p for p, _ in hist] == expected


def test_cmaes_notes_categoricals_once():
    space = space_of(**NUMERIC, model__activation={"choice": ["relu", "tanh"]})
    s = OptunaSamplerStrategy("cmaes", seed=0, batch=4)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        run_rounds(s, space, 2, 4)
    notes = [x for x in w if issubclass(x.category, CaviarWarning)]
    assert len(notes) == 1 and "model.activation" in str(notes[0].message)
    assert "\n" not in str(notes[0].message)


@pytest.mark.parametrize(
    "strategy, sampler, message",
    [
        ("cmaes", {"sigma": 0.5}, "CmaEsSampler has no argument 'sigma'"),
        ("tpe", {"seed": 1}, "the sampler's seed is search.seed"),
        ("tpe", {"gamma": 3}, "takes a Python object"),
        ("random", {"n_startup_trials": 3}, "strategy 'random' takes no sampler arguments"),
        ("qmc", {"qmc_type": "lattice"}, "QMCSampler refused the arguments"),
        ("cmaes", {"x0": {"optimizer.momentum": 0.5}}, "not a dimension of the space"),
    ],
)
def test_bad_sampler_arguments_are_one_line_errors(tmp_path, strategy, sampler, message):
    out = tmp_path / "run"
    with pytest.raises(CaviarError) as e:
        tune(iris_config(strategy=strategy, sampler=sampler, trials=4, batch=2), out=out)
    assert message in str(e.value) and "\n" not in str(e.value)
    assert not out.exists()


@pytest.mark.parametrize("name", ["gp", "cmaes", "qmc", "nsga2", "nsga3"])
def test_each_sampler_runs_a_search_end_to_end(tmp_path, name):
    cfg = iris_config(strategy=name, trials=6, batch=3, seed=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CaviarWarning)
        a = tune(cfg, out=tmp_path / "a")
        b = tune(cfg, out=tmp_path / "b")
    assert sorted(t["index"] for t in a.trials) == list(range(6))
    assert sorted({t["round"] for t in a.trials}) == [0, 1]
    by_index = {t["index"]: t["params"] for t in b.trials}
    assert all(by_index[t["index"]] == t["params"] for t in a.trials)  # reproducible
    assert np.isfinite(a.val_score)


def test_no_optuna_experimental_warning_reaches_the_user():
    space = space_of(**NUMERIC)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        for name in ("qmc", "gp", "cmaes", "nsga3"):
            strategy_for(name, 2).suggest(space, [], 2, np.random.default_rng(0))
    assert [str(x.message) for x in w] == []
