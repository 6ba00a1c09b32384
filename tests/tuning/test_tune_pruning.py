"""Successive halving and PBT: trainer callbacks, compaction, and their value at equal compute."""

import numpy as np
import pytest
import torch

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.tuning.executor import run_population
from caviar.tuning.halving import SuccessiveHalving, rungs
from caviar.tuning.runner import tune


def test_rungs():
    assert rungs(1, 3, 12) == [1, 3, 9]
    assert rungs(2, 2, 20) == [2, 4, 8, 16]
    assert rungs(5, 3, 5) == []


@pytest.fixture(scope="module")
def iris():
    return prepare_data("iris", seed=1)


def configs(lrs, epochs=9):
    return expand_configs(
        {
            "data": {"source": "iris"},
            "model": {"hidden": [8]},
            "optimizer": {"name": "adam", "lr": lrs},
            "train": {"epochs": epochs, "batch_size": 16, "patience": None, "dtype": "float64"},
        }
    )


def test_halving_keeps_the_best_third_at_each_rung(iris):
    lrs = [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 2e-1, 3e-1]
    recs = run_population(configs(lrs), iris, callbacks=[SuccessiveHalving(1, 3)])
    runs = sorted(r.member.epochs_run for r in recs)
    assert runs == [1] * 6 + [3] * 2 + [9]  # 9 -> 3 -> 1 alive
    # the survivors of rung 1 were the best after epoch 1
    first = np.array([r.member.history["val_score"][0] for r in recs])
    survivors = [i for i, r in enumerate(recs) if r.member.epochs_run >= 3]
    assert min(first[survivors]) >= max(np.delete(first, survivors)) or len(
        set(first.round(12))
    ) < len(first)
    assert sum(r.member.status == "pruned" for r in recs) == 8


def test_compaction_keeps_every_trajectory(iris):
    """Survivors of a compacted population follow exactly the trajectory they follow in the
    uncompacted population (weights, optimizer state and shuffling carried over)."""
    lrs = [1e-3, 3e-3, 1e-2, 3e-2, 5e-2, 1e-1]
    a = run_population(configs(lrs), iris, callbacks=[SuccessiveHalving(2, 2)], min_compact=1)
    b = run_population(configs(lrs), iris, callbacks=[SuccessiveHalving(2, 2)], min_compact=10**9)
    for ra, rb in zip(a, b, strict=True):
        assert ra.member.epochs_run == rb.member.epochs_run
        assert ra.member.status == rb.member.status
        np.testing.assert_allclose(
            ra.member.history["val_loss"], rb.member.history["val_loss"], rtol=1e-12, atol=1e-12
        )
        for k in ra.weights:
            torch.testing.assert_close(ra.weights[k], rb.weights[k], rtol=1e-12, atol=1e-12)


def regularized(lrs, epochs=9):
    """Batch norm, per-member dropout and weight noise (random streams keyed by the
    global step), and early stopping: the state compaction must carry over."""
    return expand_configs(
        {
            "data": {"source": "iris"},
            "model": {"hidden": [8], "batch_norm": True, "dropout": 0.1},
            "noise": {"weight": 0.01},
            "optimizer": {"name": "adam", "lr": lrs},
            "train": {"epochs": epochs, "batch_size": 16, "patience": 3, "dtype": "float64"},
        }
    )


def test_compaction_keeps_every_trajectory_with_batch_norm_dropout_and_noise(iris):
    """With regularizers a compacted population still gives each member the trajectory it
    has uncompacted and alone (alone: finished after the epochs it ran): weights,
    batch-norm running statistics (the best epoch's) and histories; and the final
    model of a member predicts its recorded validation score."""
    from caviar.tuning.rebuild import StopAfter
    from caviar.tuning.refit import model_from_records

    lrs = [1e-3, 3e-3, 1e-2, 3e-2, 5e-2, 1e-1]
    a = run_population(regularized(lrs), iris, callbacks=[SuccessiveHalving(2, 2)], min_compact=1)
    b = run_population(
        regularized(lrs), iris, callbacks=[SuccessiveHalving(2, 2)], min_compact=10**9
    )
    assert sum(r.member.status == "pruned" for r in a) >= 3  # compaction happened
    for j, (ra, rb) in enumerate(zip(a, b, strict=True)):
        alone = run_population(
            regularized([lrs[j]]), iris, callbacks=[StopAfter({0: ra.member.epochs_run})]
        )[0]
        for other in (rb, alone):
            assert ra.member.epochs_run == other.member.epochs_run
            assert ra.member.best_epoch == other.member.best_epoch
            np.testing.assert_allclose(
                ra.member.history["val_loss"], other.member.history["val_loss"], rtol=1e-12
            )
            assert ra.weights.keys() == other.weights.keys()
            for k in ra.weights:
                torch.testing.assert_close(ra.weights[k], other.weights[k], rtol=1e-12, atol=1e-12)
        model = model_from_records([ra], iris, {})
        pred = model.outputs(iris.X_val)[0].argmax(axis=1)
        assert float(np.mean(pred == iris.y_val)) == pytest.approx(ra.member.val_score, abs=1e-12)


def digits_config(**search):
    return {
        "data": {"source": "digits", "seed": 0},
        "model": {"hidden": [32]},
        "optimizer": {"name": "adam"},
        "train": {"epochs": 12, "batch_size": 128, "patience": None},
        "search": {
            "strategy": "random",
            "seed": 3,
            "space": {
                "optimizer.lr": {"log_uniform": [1e-5, 1.0]},
                "penalty.l2_kernel": {"log_uniform": [1e-6, 1e-1]},
            },
            **search,
        },
    }


def compute(result):
    """Epochs trained, summed over trials (the compute a search spent)."""
    return sum(t["epochs_run"] for t in result.trials)


def test_successive_halving_beats_random_search_at_equal_compute(tmp_path):
    plain = tune(digits_config(trials=6), out=tmp_path / "plain", outputs=False)
    sh = tune(
        digits_config(trials=24, halving={"min_epochs": 1, "eta": 3}),
        out=tmp_path / "sh",
        outputs=False,
    )
    assert compute(plain) == 6 * 12
    assert compute(sh) <= compute(plain)
    assert sh.counts["pruned"] > 0
    assert sh.val_score > plain.val_score


def test_pbt_beats_random_search_at_equal_compute(tmp_path):
    plain = tune(digits_config(trials=8), out=tmp_path / "plain", outputs=False)
    pbt = tune(
        digits_config(trials=8, pbt={"interval": 2, "fraction": 0.5, "perturb": 0.5}),
        out=tmp_path / "pbt",
    )
    assert compute(pbt) == compute(plain) == 8 * 12  # same members, same epochs
    exploited = [t for t in pbt.trials if t["pbt_history"]]
    assert exploited  # some members copied a better one
    assert pbt.val_score > plain.val_score


def test_a_population_ends_with_the_best_epochs_batch_norm_statistics(iris):
    """run_population (the search's loop) ends as PopulationTrainer.run does: each member
    with its best-validation weights and the running statistics of that same epoch."""
    from caviar.training.trainer import PopulationTrainer

    cfgs = regularized([1e-2, 3e-2, 1e-1], epochs=30)
    recs = run_population(cfgs, iris)
    trainer = PopulationTrainer(cfgs, iris)
    result = trainer.run()
    assert any(r.member.best_epoch < r.member.epochs_run - 1 for r in recs)  # stopped later
    for j, r in enumerate(recs):
        assert r.member.best_epoch == result.members[j].best_epoch
        expected = trainer.model.member_tensors(j)
        assert any("running_var" in k for k in expected)
        for k, v in expected.items():
            torch.testing.assert_close(r.weights[k], v, rtol=1e-12, atol=1e-12)
