"""Keras-style Callback objects on caviar.tune, mixed with Optuna-style functions in one
callbacks= list: per-trial logs every epoch, stopping trials, the population's end, and
each stored trial."""

import numpy as np
import optuna
import pytest
from tune_helpers import iris_config

import caviar
from caviar.errors import CaviarError
from caviar.training.callbacks import Callback
from caviar.trial import Trial
from caviar.tuning.output import leaderboard

EPOCHS = 5


def config():
    cfg = iris_config(trials=8)  # two structures ([8], [16]): two populations
    cfg["train"].update(epochs=EPOCHS, patience=None)
    return cfg


class Recorder(Callback):
    def __init__(self, order, stop_odd_at=None):
        self.epochs, self.ends, self.trials = [], [], []
        self.order, self.stop_odd_at = order, stop_odd_at

    def on_epoch_end(self, epoch, logs):
        self.epochs.append((logs.population, epoch, list(logs.members), logs.val_score.copy(),
                            logs.train_loss.copy(), logs.alive.copy()))  # fmt: skip
        if epoch == self.stop_odd_at:
            logs.stop([m for m in logs.members if m % 2])

    def on_population_end(self, logs):
        self.ends.append(logs)

    def on_trial_complete(self, trial):
        self.trials.append(trial)
        self.order.append(("keras", trial.number))


def _by_index(result):
    return {t["index"]: t for t in result.trials}


def test_hooks_see_every_epoch_population_and_stored_trial(tmp_path):
    order = []
    rec = Recorder(order)

    def optuna_style(study, trial):
        assert isinstance(study, optuna.Study)
        order.append(("fn", trial.user_attrs["index"]))  # the trial index, as caviar's

    result = caviar.tune(
        config(), out=tmp_path / "run", callbacks=[rec, optuna_style], outputs=False
    )
    trials = _by_index(result)
    # on_epoch_end: every epoch of both populations, with the trials' own numbers
    assert len(rec.epochs) == 2 * EPOCHS
    populations = {}
    for population, epoch, members, val_score, train_loss, alive in rec.epochs:
        populations.setdefault(population, []).append(epoch)
        assert alive.all()
        for j, m in enumerate(members):
            h = trials[m]["history"]
            assert val_score[j] == pytest.approx(h["val_score"][epoch], rel=1e-6)
            assert train_loss[j] == pytest.approx(h["train_loss"][epoch], rel=1e-6)
    assert sorted(populations) == [0, 1]
    assert all(sorted(e) == list(range(EPOCHS)) for e in populations.values())
    members = {p: m for p, _, m, *_ in rec.epochs}
    assert sorted(members[0] + members[1]) == list(range(8))
    # on_population_end: once per population, each trial's numbers at its best epoch
    assert sorted(e.population for e in rec.ends) == [0, 1]
    for end in rec.ends:
        assert end.members == members[end.population]
        np.testing.assert_array_equal(end.val_score, [trials[m]["val_score"] for m in end.members])
        assert end.status == [trials[m]["status"] for m in end.members]
    # on_trial_complete: caviar's record of the stored trial, its value the leaderboard's
    assert all(type(t) is Trial for t in rec.trials)  # the one record of train and tune
    assert sorted(t.number for t in rec.trials) == list(range(8))
    board = leaderboard(result).set_index("trial")["val_score"]
    for t in rec.trials:
        assert t.value == board[t.number] == trials[t.number]["val_score"]
        assert t.params == trials[t.number].params
    # one list, both kinds, in its order for each trial
    stored = [n for kind, n in order if kind == "keras"]  # the order they were stored
    assert sorted(stored) == list(range(8))
    assert order == [(kind, n) for n in stored for kind in ("keras", "fn")]


def test_a_callback_stops_trials_they_end_pruned_in_the_study(tmp_path):
    plain = caviar.tune(config(), out=tmp_path / "plain", outputs=False)
    rec = Recorder([], stop_odd_at=1)
    result = caviar.tune(config(), out=tmp_path / "run", callbacks=[rec], outputs=False)
    trials, before = _by_index(result), _by_index(plain)
    for i, t in trials.items():
        if i % 2:
            assert t["status"] == "pruned" and t["epochs_run"] == 2
        else:  # the others train as if nothing happened
            assert t["status"] == "complete" and t["epochs_run"] == EPOCHS
            assert t["history"]["val_loss"] == pytest.approx(before[i]["history"]["val_loss"])
    study = optuna.load_study(study_name=result.plan.name, storage=result.storage_url)
    states = {t.user_attrs["index"]: t.state for t in study.get_trials()}
    assert {i for i, s in states.items() if s == optuna.trial.TrialState.PRUNED} == {1, 3, 5, 7}
    assert result.counts["pruned"] == 4
    # after the stop the stopped trials are not alive in the logs, and a population where
    # half had stopped was compacted: its logs hold the running trials only
    later = [(m, a) for _, e, m, _, _, a in rec.epochs if e >= 2]
    assert all(list(a) == [x % 2 == 0 for x in m] for m, a in later)
    assert any(all(x % 2 == 0 for x in m) for m, _ in later)


def test_bad_callbacks_are_one_line_errors(tmp_path):
    with pytest.raises(CaviarError, match="neither a caviar.training.callbacks.Callback"):
        caviar.tune(config(), out=tmp_path / "a", callbacks=[42])

    class Epochs(Callback):
        def on_epoch_end(self, epoch, logs):
            pass

    with pytest.raises(CaviarError, match="on_epoch_end callbacks need the local executor"):
        caviar.tune(config(), out=tmp_path / "b", callbacks=[Epochs()], executor="ray")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_cross_validated_search_shows_each_trials_folds_and_stops_them_together(tmp_path):
    """search.cv = 3: a population row per fold, labelled with its trial; stopping a
    trial stops its three folds, and it is stored pruned at the epoch it stopped."""
    cfg = config()
    cfg["search"]["cv"] = 3
    rec = Recorder([], stop_odd_at=1)
    result = caviar.tune(cfg, out=tmp_path / "run", callbacks=[rec], outputs=False)
    for _, epoch, members, val, _, alive in rec.epochs:
        trials = sorted(set(members))
        assert members == [t for t in trials for _ in range(3)]  # configuration-major folds
        assert len(val) == len(alive) == len(members)
        if epoch >= 2:  # the odd trials' folds stopped after epoch 1 (0-based)
            assert not any(a for m, a in zip(members, alive, strict=True) if m % 2)
            assert all(a for m, a in zip(members, alive, strict=True) if m % 2 == 0)
    trials = _by_index(result)
    assert len(trials) == 8
    for index, t in trials.items():
        assert len(t["cv_scores"]) == 3
        if index % 2:
            assert t["status"] == "pruned" and t["epochs_run"] == 2
        else:
            assert t["status"] != "pruned" and t["epochs_run"] == EPOCHS
    assert [len(logs.members) for logs in rec.ends] == [4, 4]  # one record per trial
