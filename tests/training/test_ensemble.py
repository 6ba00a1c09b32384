"""Ensembles (:ref:`bg-ensembles`) and Monte-Carlo dropout (:ref:`bg-mc-dropout`)."""

import dataclasses

import numpy as np
import pytest

from caviar.api import train as caviar_train
from caviar.data import prepare_data
from caviar.errors import CaviarError
from caviar.model import TrainedModel
from caviar.model.bundle import vote_fractions
from caviar.training.ensemble import model_scores


@pytest.fixture(scope="module")
def noisy():
    """breast_cancer with 25% of the training and validation labels flipped."""
    data = prepare_data("breast_cancer", seed=0)
    rng = np.random.default_rng(0)

    def flip(y):
        y = y.copy()
        idx = rng.random(len(y)) < 0.25
        y[idx] = 1 - y[idx]
        return y

    return dataclasses.replace(data, y_train=flip(data.y_train), y_val=flip(data.y_val))


@pytest.fixture(scope="module")
def run(noisy):
    return caviar_train(
        {
            "data": {"source": "breast_cancer"},
            "model": {"hidden": [32, 32]},
            "optimizer": {"lr": 0.01},
            "train": {
                "epochs": 25,
                "batch_size": 32,
                "patience": None,
                "seed": list(range(12)),
                "sampling": "bootstrap",
            },
            "ensemble": {"size": 7},
        },
        data=noisy,
    )


def test_top_k_ensemble_beats_the_median_member_on_noisy_labels(run, noisy):
    model = run.best_model
    assert model.n_members == 7
    pop = run.populations[0]
    member_scores = [
        model_scores(TrainedModel.from_population(pop, [p], noisy), noisy.X_test, noisy.y_test)[1]
        for p in range(len(pop.members))
    ]
    assert run.test_score >= np.median(member_scores)
    # the saved ensemble is one directory predicting the same
    assert run.best_model.metrics["ensemble_members"] == 7


def test_ensemble_saves_and_loads_as_one_model(run, noisy, tmp_path):
    run.best_model.save(tmp_path / "m")
    loaded = TrainedModel.load(tmp_path / "m")
    assert loaded.n_members == 7 and loaded.combine == "mean"
    np.testing.assert_allclose(
        loaded.predict_proba(noisy.X_test, preprocessed=True),
        run.best_model.predict_proba(noisy.X_test, preprocessed=True),
    )


def test_vote_is_the_majority_class():
    codes = np.array([[0, 1, 2, 1], [0, 2, 2, 0], [1, 2, 0, 0]])
    fractions = vote_fractions(codes, 3)
    np.testing.assert_allclose(fractions.sum(axis=1), 1.0)
    assert fractions.argmax(axis=1).tolist() == [0, 2, 2, 0]


def test_snapshot_ensemble_and_vote(noisy):
    run = caviar_train(
        {
            "data": {"source": "breast_cancer"},
            "model": {"hidden": [16]},
            "schedule": {"name": "cyclic_cosine", "k": 2},
            "train": {"epochs": 6, "patience": None},
            "ensemble": {"size": 3, "snapshot_every": 2, "method": "vote"},
        },
        data=noisy,
    )
    assert len(run.populations[0].snapshots) == 3
    assert run.best_model.n_members == 3 and run.best_model.combine == "vote"
    proba = run.best_model.predict_proba(noisy.X_test, preprocessed=True)
    assert set(np.unique(proba * 3).round(6)) <= {0.0, 1.0, 2.0, 3.0}


def test_k_larger_than_population_is_a_one_line_error(noisy):
    with pytest.raises(CaviarError, match="larger than the population of 2 members") as e:
        caviar_train(
            {
                "data": {"source": "breast_cancer"},
                "train": {"epochs": 1, "seed": [0, 1]},
                "ensemble": {"size": 3},
            },
            data=noisy,
        )
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("source", ["iris", "diabetes"])
def test_mc_dropout_std_is_positive_and_shrinks_with_the_rate(source):
    data = prepare_data(source, seed=0)
    run = caviar_train(
        {
            "data": {"source": source},
            "model": {"hidden": [32], "dropout": 0.3},
            "optimizer": {"lr": 0.01},
            "train": {"epochs": 15, "patience": None},
        },
        data=data,
    )
    model = run.best_model
    X = data.X_test
    stds = []
    for rate in (0.5, 0.2, 0.05, 0.01):
        model.dropout = [rate]
        mean, std = model.predict_mc(X, 30, preprocessed=True)
        assert mean.shape == std.shape and (std >= 0).all()
        stds.append(float(std.mean()))
    assert stds[-1] > 0
    assert all(a > b for a, b in zip(stds, stds[1:], strict=False)), stds
    model.dropout = [0.0]
    with pytest.raises(CaviarError, match="MC dropout needs"):
        model.predict_mc(X, 5, preprocessed=True)


def test_batch_norm_model_saves_running_statistics_and_predicts_the_same(tmp_path):
    import torch

    from caviar.training.evaluate import predict_outputs

    data = prepare_data("wine", seed=0)
    run = caviar_train(
        {
            "data": {"source": "wine"},
            "model": {"hidden": [8, 8], "batch_norm": True, "dropout": 0.2},
            "train": {"epochs": 4, "dtype": "float64"},
        },
        data=data,
    )
    pop = run.populations[0]
    assert (pop.model.stats != torch.cat([torch.zeros(8), torch.ones(8)] * 2)).any()
    run.best_model.save(tmp_path / "bn")
    loaded = TrainedModel.load(tmp_path / "bn")
    assert loaded.batch_norm and loaded.dropout == [pytest.approx(0.2)]
    x = torch.as_tensor(data.X_test)
    # evaluation uses the running statistics: same outputs as the trainer's evaluation pass
    ref = predict_outputs(pop.model, x, slope=pop.knobs.leaky_slope)[0].numpy()
    np.testing.assert_allclose(loaded.outputs(data.X_test)[0], ref, rtol=1e-10, atol=1e-12)
