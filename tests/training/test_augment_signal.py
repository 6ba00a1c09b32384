"""Shifts of (C, L) signals along their time axis: by hand, and per member."""

import numpy as np
import pytest
import torch

from caviar.config import expand_configs
from caviar.data import prepare_arrays
from caviar.errors import CaviarError
from caviar.training.augment.signal import SignalShift
from caviar.training.trainer import PopulationTrainer


def test_an_integer_shift_moves_every_channel_with_zero_padding(monkeypatch):
    C, L = 2, 6
    raw = torch.arange(1.0, 1 + C * L, dtype=torch.float64).reshape(1, C * L)
    mean, std = (
        torch.full((C * L,), 0.5, dtype=torch.float64),
        torch.full((C * L,), 2.0, dtype=torch.float64),
    )
    x = (raw - mean) / std
    import caviar.training.augment.signal as sig

    monkeypatch.setattr(sig.rnd, "uniform", lambda *a, **k: torch.ones(2, 1, dtype=torch.float64))
    out = SignalShift((C, L), mean, std)(x, torch.tensor([2.0, 0.0]), torch.zeros(2), None, 0)
    back = (out * std + mean).reshape(2, C, L)
    expected = np.zeros((C, L))
    expected[:, 2:] = raw.reshape(C, L)[:, :-2]  # t -> t - 2: two zeros enter on the left
    np.testing.assert_allclose(back[0].numpy(), expected, atol=1e-12)
    assert torch.equal(out[1, 0], x[0])  # shift 0: untouched


@pytest.fixture(scope="module")
def signals():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2, 8))
    return prepare_arrays(X, (X[:, 0].sum(axis=1) > 0).astype(int), seed=0)


def configs(shifts, rotate=0.0):
    return [
        expand_configs(
            {
                "data": {"source": "arrays"},
                "model": {"kind": "cnn", "channels": [3], "hidden": [4]},
                "augment": {"shift": s, "rotate": rotate},
                "train": {"epochs": 2, "batch_size": 16, "dtype": "float64", "seed": i},
            }
        )[0]
        for i, s in enumerate(shifts)
    ]


def test_shifted_members_train_alone_as_in_the_population(signals):
    def run(cfgs):
        t = PopulationTrainer(cfgs, signals, restore_best=False)
        t.run()
        return t.model.flat.detach()

    together = run(configs([0.0, 1.5, 3.0]))
    for p in range(3):
        alone = run([configs([0.0, 1.5, 3.0])[p]])
        torch.testing.assert_close(together[p], alone[0], rtol=1e-10, atol=1e-12)
    assert not torch.allclose(together[1], run([configs([0.0, 0.0])[1]])[0])


def test_rotating_signals_is_refused(signals):
    with pytest.raises(CaviarError, match="augment.rotate needs images"):
        PopulationTrainer(configs([1.0], rotate=10.0), signals)
