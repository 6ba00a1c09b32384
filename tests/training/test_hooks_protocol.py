"""One hook protocol for both trainers (caviar.training.hooks): one Hook object works with
caviar.train and caviar.tune and receives the same types; the trainers' default hooks;
the adapters (Keras-style, Optuna-style, plain trainer functions)."""

import math

import optuna
import pytest
import torch

import caviar
from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.training.callbacks import Callback, KerasAdapter
from caviar.training.epoch_end import EndOfEpochRules
from caviar.training.epoch_report import EpochReport
from caviar.training.full_batch import FullBatchTrainer
from caviar.training.gradient_monitor import GradientMonitor
from caviar.training.hooks import HOOK_NAMES, Hook, HookState, TrainerFunction
from caviar.training.snapshots import Snapshots
from caviar.training.trainer import PopulationTrainer
from caviar.trial import Trial
from caviar.tuning.halving import SuccessiveHalving
from caviar.tuning.pbt import PopulationBasedTraining
from caviar.tuning.time_budget import TimeBudget
from caviar.tuning.trial_callbacks import OptunaAdapter
from caviar.tuning.tune_callbacks import as_hook

EPOCHS = 3
BASE = {
    "data": {"source": "iris", "seed": 0},
    "model": {"hidden": [6]},
    "optimizer": {"name": "adam"},
    "train": {"epochs": EPOCHS, "batch_size": 16, "patience": None},
}


class Events(Hook):
    """Records every hook call: its name and the types and values it received."""

    def __init__(self):
        self.calls = []

    def _note(self, name, state, trial=None):
        assert isinstance(state, HookState)
        self.calls.append((name, state.kind, state.population, list(state.members), trial))

    def on_train_begin(self, state):
        self._note("on_train_begin", state)

    def on_batches_end(self, state):
        assert len(state.trainer.history["val_loss"]) == state.epoch  # before validation
        self._note("on_batches_end", state)

    def on_validation_end(self, state):
        assert len(state.trainer.history["val_loss"]) == state.epoch + 1
        self._note("on_validation_end", state)

    def on_epoch_end(self, state):
        assert state.trainer is not None and 0 <= state.epoch < state.epochs == EPOCHS
        self._note("on_epoch_end", state)

    def on_population_end(self, state):
        assert len(state.results) == len(state.members)
        self._note("on_population_end", state)

    def on_trial_complete(self, trial, state):
        assert type(trial) is Trial
        self._note("on_trial_complete", state, trial)

    def on_train_end(self, state):
        self._note("on_train_end", state)

    def names(self):
        return [c[0] for c in self.calls]


def test_one_hook_object_drives_train_and_tune_with_the_same_types(tmp_path):
    hook = Events()
    run = caviar.train(
        {**BASE, "optimizer": {"name": "adam", "lr": [1e-3, 1e-2]}}, callbacks=[hook], verbose=0
    )
    train_calls = list(hook.calls)
    search = {
        "strategy": "random",
        "trials": 2,
        "seed": 0,
        "space": {"optimizer.lr": {"log_uniform": [1e-3, 1e-1]}},
    }
    hook.calls.clear()
    result = caviar.tune(
        {**BASE, "search": search}, out=tmp_path / "run", callbacks=[hook], outputs=False,
        verbose=0,
    )  # fmt: skip
    tune_calls = hook.calls
    for calls, kind, records in ((train_calls, "train", run.trials),
                                 (tune_calls, "tune", result.trials)):  # fmt: skip
        names = [c[0] for c in calls]
        assert names[0] == "on_train_begin" and names[-1] == "on_train_end"
        assert names.count("on_train_begin") == names.count("on_train_end") == 1
        assert names.count("on_epoch_end") == EPOCHS  # one population of two members
        assert names.count("on_batches_end") == names.count("on_validation_end") == EPOCHS
        during = [n for n in names if n in ("on_batches_end", "on_validation_end",
                                            "on_epoch_end")]  # fmt: skip
        assert during == ["on_batches_end", "on_validation_end", "on_epoch_end"] * EPOCHS
        assert names.count("on_population_end") == 1
        assert {c[1] for c in calls} == {kind}
        epoch_members = {tuple(c[3]) for c in calls if c[0] in during}
        assert epoch_members == {(0, 1)}  # configuration (train) / trial (tune) indices
        trials = [c[4] for c in calls if c[0] == "on_trial_complete"]
        assert sorted(t.number for t in trials) == [0, 1]
        by_number = {t.number: t for t in records}
        for t in trials:  # the record the result holds
            assert t.value == by_number[t.number].value and t.state == by_number[t.number].state


def test_a_hook_stops_members_in_train_and_in_tune_alike(tmp_path):
    class StopOne(Hook):
        def on_epoch_end(self, state):
            if state.epoch == 0:
                state.stop([1])

    cfg = {**BASE, "optimizer": {"name": "adam", "lr": [1e-3, 1e-2]}}
    run = caviar.train(cfg, callbacks=[StopOne()], verbose=0)
    by_index = {m.index: m for m in run.members}
    assert by_index[1].status == "pruned" and by_index[1].epochs_run == 1
    assert by_index[0].epochs_run == EPOCHS
    search = {"strategy": "random", "trials": 2, "seed": 0,
              "space": {"optimizer.lr": {"log_uniform": [1e-3, 1e-1]}}}  # fmt: skip
    result = caviar.tune(
        {**BASE, "search": search}, out=tmp_path / "t", callbacks=[StopOne()], outputs=False,
        verbose=0,
    )  # fmt: skip
    states = {t.number: (t.state, t.epochs_run) for t in result.trials}
    assert states[1] == ("pruned", 1) and states[0][1] == EPOCHS


def test_hooks_leave_training_bitwise_unchanged():
    """A hook that only reads changes no member: histories and weights equal bitwise."""

    class Reader(Hook):
        def __init__(self):
            self.seen = 0

        def on_epoch_end(self, state):
            self.seen += int(state.trainer.alive.sum())

    cfg = {**BASE, "optimizer": {"name": "adam", "lr": [1e-3, 1e-2]}}
    data = prepare_data("iris", seed=0)
    plain = caviar.train(cfg, data=data, verbose=0)
    reader = Reader()
    hooked = caviar.train(cfg, data=data, callbacks=[reader], verbose=0)
    assert reader.seen == 2 * EPOCHS
    torch.testing.assert_close(
        hooked.populations[0].model.flat, plain.populations[0].model.flat, rtol=0, atol=0
    )
    for a, b in zip(hooked.members, plain.members, strict=True):
        assert a.history == b.history


def test_the_trainers_default_hooks_surround_the_callbacks():
    data = prepare_data("iris", seed=0)
    configs = expand_configs({**BASE, "optimizer": {"name": "adam", "lr": [1e-3, 1e-2]}})

    def fn(trainer):
        pass

    halving = SuccessiveHalving(2, 3.0)
    trainer = PopulationTrainer(configs, data, callbacks=[fn, halving])
    kinds = [type(h) for h in trainer.hooks]
    assert kinds == [GradientMonitor, EndOfEpochRules, Snapshots, TrainerFunction,
                     SuccessiveHalving, EpochReport]  # fmt: skip
    assert trainer.hooks[0] is trainer.grad_monitor and trainer.hooks[3].fn is fn
    lbfgs = expand_configs({**BASE, "optimizer": {"name": "lbfgs"}})
    full = FullBatchTrainer(lbfgs, data, callbacks=[fn])
    assert [type(h) for h in full.hooks] == [TrainerFunction, EpochReport]
    # halving, PBT and the time budget are hooks and stay trainer callbacks fn(trainer)
    for cb in (halving, PopulationBasedTraining([]), TimeBudget(math.inf)):
        assert isinstance(cb, Hook) and cb.listens("on_epoch_end") and callable(cb)


def test_the_default_hooks_are_heard_in_order():
    """The gradient monitor before validation, the rules after it, then the epoch's end:
    snapshots, the callbacks and the progress report, epoch after epoch."""
    data = prepare_data("iris", seed=0)
    cfg = {**BASE, "ensemble": {"snapshot_every": 1}}
    order, reports = [], []

    def fn(trainer):
        order.append(("callback", trainer.epoch, len(trainer.snapshots),
                      len(trainer.grad_monitor.norms)))  # fmt: skip

    trainer = PopulationTrainer(expand_configs(cfg), data, callbacks=[fn],
                                on_epoch=lambda *a: reports.append(a))  # fmt: skip
    trainer.run()
    assert order == [("callback", e, e + 1, e + 1) for e in range(EPOCHS)]
    assert [r[:2] for r in reports] == [(e + 1, EPOCHS) for e in range(EPOCHS)]


def test_keras_and_optuna_adapters_keep_their_one_signature():
    class Keras(Callback):
        def __init__(self):
            self.got = []

        def on_trial_complete(self, trial):
            self.got.append(trial)

    keras, seen = Keras(), []
    adapter = as_hook(keras)
    assert isinstance(adapter, KerasAdapter) and adapter.listens("on_trial_complete")
    assert not adapter.listens("on_epoch_end")  # the Callback does nothing there
    trial = Trial(number=0, params={}, value=0.5, state="complete")
    adapter.on_trial_complete(trial, HookState("tune"))
    assert keras.got == [trial]
    study = optuna.create_study(direction="maximize")
    optuna_hook = as_hook(lambda s, t: seen.append((s, t)))
    assert isinstance(optuna_hook, OptunaAdapter) and optuna_hook.listens("on_trial_complete")
    optuna_hook.on_trial_complete(trial, HookState("tune", study=study, frozen="frozen"))
    assert seen == [(study, "frozen")]
    assert as_hook(Events()).__class__ is Events  # a Hook as it is
    assert set(HOOK_NAMES) == {n for n in dir(Hook) if n.startswith("on_")}


def test_a_hook_outside_a_population_cannot_stop_members():
    with pytest.raises(RuntimeError, match="during training"):
        HookState("train").stop([0])
