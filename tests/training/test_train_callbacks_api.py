"""Keras-style callbacks on caviar.train: per-member logs every epoch, stopping members,
and the population's end."""

import numpy as np
import pytest

import caviar
from caviar.config import validate_config
from caviar.data import prepare_data
from caviar.training.callbacks import Callback
from caviar.trial import Trial


def _configs(lrs=(0.001, 0.01, 0.03, 0.1)):
    return [
        validate_config(
            {
                "data": {"source": "iris"},
                "model": {"hidden": [6]},
                "optimizer": {"name": "adam", "lr": lr},
                "train": {"epochs": 6, "batch_size": 16, "patience": None},
            }
        )
        for lr in lrs
    ]


class Recorder(Callback):
    def __init__(self, stop_at=None, stop_member=None):
        self.epochs, self.logs, self.ends = [], [], []
        self.stop_at, self.stop_member = stop_at, stop_member

    def on_epoch_end(self, epoch, logs):
        self.epochs.append(epoch)
        self.logs.append((logs.val_score.copy(), logs.alive.copy()))
        if epoch == self.stop_at:
            logs.stop([self.stop_member])

    def on_population_end(self, logs):
        self.ends.append(logs)


def test_epoch_logs_are_the_members_history():
    data = prepare_data("iris", seed=0)
    rec = Recorder()
    run = caviar.train(_configs(), data=data, callbacks=[rec])
    assert rec.epochs == list(range(6))
    hist = run.populations[0].history["val_score"]  # (epochs, P)
    np.testing.assert_array_equal(np.stack([v for v, _ in rec.logs]), hist)
    (end,) = rec.ends
    assert end.members == [0, 1, 2, 3] and end.status == ["complete"] * 4
    by_index = {m.index: m for m in run.members}
    assert list(end.val_score) == [by_index[i].val_score for i in end.members]


def test_a_callback_stops_one_member_and_the_others_go_on():
    data = prepare_data("iris", seed=0)
    plain = caviar.train(_configs(), data=data)
    rec = Recorder(stop_at=2, stop_member=1)
    run = caviar.train(_configs(), data=data, callbacks=[rec])
    by_index = {m.index: m for m in run.members}
    assert by_index[1].status == "pruned" and by_index[1].epochs_run == 3
    assert not rec.logs[3][1][1] and rec.logs[3][1][[0, 2, 3]].all()
    before = {m.index: m for m in plain.members}
    for i in (0, 2, 3):  # the others train as if nothing happened
        assert by_index[i].history["val_loss"] == pytest.approx(before[i].history["val_loss"])


def test_stopping_every_member_ends_the_population():
    class StopAll(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 1:
                logs.stop()

    run = caviar.train(_configs(), data=prepare_data("iris", seed=0), callbacks=[StopAll()])
    assert all(m.epochs_run == 2 and m.status == "pruned" for m in run.members)


def test_on_trial_complete_gets_each_member_once_after_its_population():
    class Trials(Callback):
        def __init__(self):
            self.events = []

        def on_population_end(self, logs):
            self.events.append(("population", logs.population))

        def on_trial_complete(self, trial):
            self.events.append(("member", trial))

    configs = _configs() + [  # a second structure: a second population
        validate_config({**_configs()[0].model_dump(mode="json"), "model": {"hidden": [3]}})
    ]
    rec = Trials()
    run = caviar.train(configs, data=prepare_data("iris", seed=0), callbacks=[rec])
    kinds = [k for k, _ in rec.events]
    assert kinds == ["population"] + ["member"] * 4 + ["population", "member"]
    members = [m for k, m in rec.events if k == "member"]
    assert [m.index for m in members] == [0, 1, 2, 3, 4]
    assert all(type(m) is Trial for m in members)  # the one record of train and tune
    by_index = {t.number: t for t in run.trials}
    results = {m.index: m for m in run.members}
    for m in members:  # the member's record, as the run returns it
        assert m is by_index[m.index]
        assert m.val_score == m.history["val_score"][m.best_epoch]  # at its best epoch
        assert m.value == results[m.index].val_score and m.state == results[m.index].status
