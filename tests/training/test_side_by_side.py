"""A population trained as its two halves side by side (a busy machine) ends exactly as
the one population does: weights, optimizer state, histories, statuses, progress."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.openmp import intra_op_threads
from caviar.training import side_by_side
from caviar.training.trainer import PopulationTrainer


def configs():
    """Six members: the first half (fast, patience 1) all stop early, the second half
    (slow, patience 20) runs every epoch, so the first half goes on frozen in lockstep."""

    def block(lr, patience, seeds):
        return expand_configs(
            {
                "data": {"source": "digits"},
                "model": {"hidden": [24], "dropout": 0.1},
                "optimizer": {"name": "adam", "lr": lr},
                "penalty": {"l2_kernel": 1e-4},
                "schedule": {"name": "cosine"},
                "train": {"epochs": 10, "batch_size": 64, "patience": patience, "seed": seeds},
            }
        )

    return block(0.3, 1, [0, 1, 2]) + block(1e-3, 20, [3, 4, 5])


@pytest.fixture(scope="module")
def data():
    return prepare_data("digits", seed=0)


def same(a, b) -> bool:
    """Exactly equal, nested (dicts, lists, tuples), NaN equal to NaN."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def train(monkeypatch, data, busy: bool):
    monkeypatch.setattr(side_by_side, "machine_busy", lambda: busy)
    progress: list[tuple] = []
    with intra_op_threads(2):
        trainer = PopulationTrainer(configs(), data, on_epoch=lambda *a: progress.append(a))
        assert side_by_side.wanted(trainer) is busy
        result = trainer.run()
    return trainer, result, progress


def test_two_halves_side_by_side_equal_the_one_population_bitwise(monkeypatch, data):
    one, one_result, one_progress = train(monkeypatch, data, busy=False)
    two, two_result, two_progress = train(monkeypatch, data, busy=True)
    runs = [m.epochs_run for m in one_result.members]
    assert max(runs[:3]) < min(runs[3:]) == 10  # a whole half stopped, then went on frozen
    assert torch.equal(one.model.flat, two.model.flat)
    one_state, two_state = (t.optimizer.state_dict()["state"] for t in (one, two))
    assert one_state and one_state[0]  # Adam took steps: its moments are compared
    for a, b in zip(one_state, two_state, strict=True):
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    for key, values in one_result.history.items():
        np.testing.assert_array_equal(values, two_result.history[key], err_msg=key)
    for a, b in zip(one_result.members, two_result.members, strict=True):
        assert (a.status, a.best_epoch, a.epochs_run) == (b.status, b.best_epoch, b.epochs_run)
        assert same(a.history, b.history) and same(a.diagnostics, b.diagnostics)
    for name in ("best", "best_epoch", "wait"):
        assert torch.equal(getattr(one.stopper, name), getattr(two.stopper, name))
    assert same(one_progress, two_progress) and len(two_progress) == 10
    assert two_progress[-1][:2] == (10, 10)


def test_not_split_when_something_watches_the_epochs_or_when_switched_off(monkeypatch, data):
    monkeypatch.setattr(side_by_side, "machine_busy", lambda: True)
    with intra_op_threads(2):
        watched = PopulationTrainer(configs(), data, callbacks=[lambda trainer: None])
        assert not side_by_side.wanted(watched)
        monkeypatch.setenv("CAVIAR_LOAD_AWARE_THREADS", "0")
        assert not side_by_side.wanted(PopulationTrainer(configs(), data))
    monkeypatch.delenv("CAVIAR_LOAD_AWARE_THREADS")
    with intra_op_threads(1):  # one intra-op thread: no team to wait for
        assert not side_by_side.wanted(PopulationTrainer(configs(), data))


def signal_members(model):
    from caviar.data import prepare_arrays
    from caviar.data.synthetic import make_signals

    signals = prepare_arrays(*make_signals(300, 16, n_classes=3, seed=0), seed=0)
    out = []
    for lr, patience, seeds in ((0.3, 1, [0, 1]), (1e-3, 20, [2, 3])):
        out += expand_configs(
            {
                "data": {"source": "arrays"},
                "model": model,
                "optimizer": {"name": "adam", "lr": lr},
                "train": {"epochs": 6, "batch_size": 32, "patience": patience, "seed": seeds},
            }
        )
    return out, signals


@pytest.mark.parametrize(
    "model",
    [
        {"kind": "rnn", "cell": "gru", "hidden_size": 8, "hidden": []},
        {"kind": "rnn", "cell": "lstm", "hidden_size": 8, "hidden": [8], "bidirectional": True},
    ],
    ids=["gru", "bidirectional-lstm"],
)
def test_recurrent_populations_split_bitwise_too(monkeypatch, model):
    runs = []
    for busy in (False, True):
        monkeypatch.setattr(side_by_side, "machine_busy", lambda busy=busy: busy)
        members, signals = signal_members(model)
        with intra_op_threads(2):
            trainer = PopulationTrainer(members, signals)
            assert side_by_side.wanted(trainer) is busy
            runs.append((trainer, trainer.run()))
    (one, one_result), (two, two_result) = runs
    assert torch.equal(one.model.flat, two.model.flat)
    for key, values in one_result.history.items():
        np.testing.assert_array_equal(values, two_result.history[key], err_msg=key)
    assert [m.epochs_run for m in one_result.members] == [m.epochs_run for m in two_result.members]


def test_cnn_and_module_populations_are_not_split(monkeypatch):
    """Measured on this machine: the same CNN population on one and on two intra-op
    threads ends with weights 1.2e-7 apart (the convolutions round differently), so its
    halves, one thread each, would not give the one population's result bitwise."""
    monkeypatch.setattr(side_by_side, "machine_busy", lambda: True)
    model = {"kind": "cnn", "channels": [4], "kernel_size": 3, "pool": "max", "hidden": []}
    members, signals = signal_members(model)
    with intra_op_threads(2):
        assert not side_by_side.wanted(PopulationTrainer(members, signals))
    assert "cnn" not in side_by_side.THREAD_FREE_KINDS
    assert "module" not in side_by_side.THREAD_FREE_KINDS
