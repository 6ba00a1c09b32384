"""A finished population frees its memory at once: no reference cycle keeps a trainer
(and its tensors) alive until Python's cyclic collector happens to run (issue 13: +110 MB
per population of a 512-512 sweep until the end of the search)."""

import gc
import weakref

import pytest

from caviar.api import load_data_for
from caviar.config import validate_config
from caviar.training import trainer as trainer_mod
from caviar.tuning.executor import run_population
from caviar.tuning.halving import SuccessiveHalving


@pytest.mark.parametrize("halving", [False, True])
def test_no_trainer_outlives_its_population(monkeypatch, halving):
    made = []
    original = trainer_mod.PopulationTrainer.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        made.append(weakref.ref(self))

    monkeypatch.setattr(trainer_mod.PopulationTrainer, "__init__", init)
    raw = {
        "data": {"source": "iris", "seed": 0},
        "model": {"hidden": [8], "dropout": 0.1},
        "train": {"epochs": 4, "batch_size": 16},
    }
    configs = [validate_config({**raw, "optimizer": {"lr": lr}}) for lr in (1e-3, 1e-2, 0.1, 0.3)]
    data = load_data_for(configs[:1])
    callbacks = [SuccessiveHalving(1, 2)] if halving else []
    gc.collect()
    gc.disable()  # only reference counting frees what follows
    try:
        records = run_population(configs, data, callbacks=callbacks, min_compact=1)
        assert len(records) == 4
        assert len(made) >= (2 if halving else 1)  # halving compacted into a new trainer
        assert [r() for r in made if r() is not None] == []
    finally:
        gc.enable()
