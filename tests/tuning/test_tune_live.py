"""Panda mode on caviar tune (:ref:`bg-caviar-approach`): `caviar set --trial`
changes a running trial between epochs, the change is stored with the trial, and a
rebuild from the study (`--resume`) replays it exactly."""

import json

import optuna
import pytest
import torch
from tune_helpers import iris_config

from caviar.api import load_data_for
from caviar.cli.main import main
from caviar.config import validate_config
from caviar.training.callbacks import Callback
from caviar.tuning.concurrent import intra_op_threads
from caviar.tuning.dispatch import ExecutorSpec
from caviar.tuning.live_tune import open_search_live_dir
from caviar.tuning.rebuild import rebuild
from caviar.tuning.runner import make_plan, tune

LR = 1e-4


def live_config():
    cfg = iris_config(trials=4, ensemble_top_k=4)
    cfg["search"]["space"].pop("model.hidden")  # one structure: one population of 4
    cfg["train"].update(dtype="float64", epochs=8, patience=None)
    return cfg


class SetFromInside(Callback):
    """Runs the real `caviar set` commands while the search runs (after epoch 3)."""

    def __init__(self, run):
        self.run, self.codes = str(run), {}

    def on_epoch_end(self, epoch, logs):
        if epoch != 2:
            return
        for name, argv in {
            "ok": ["--trial", "1", f"optimizer.lr={LR}"],
            "unknown trial": ["--trial", "99", "optimizer.lr=0.1"],
            "member flag": ["--member", "1", "optimizer.lr=0.1"],
            "structural": ["--trial", "1", "model.hidden=3"],
            "not a number": ["--trial", "1", "optimizer.lr=abc"],
            "not per-member here": ["--trial", "2", "optimizer.momentum=0.5"],
        }.items():
            self.codes[name] = main(["set", self.run, *argv])


def _history(result, index, key="val_loss"):
    (t,) = [t for t in result.trials if t["index"] == index]
    return t["history"][key]


def test_a_set_mid_run_changes_the_trial_from_that_epoch_is_stored_and_replays(tmp_path):
    cfg = live_config()
    run = tmp_path / "run"
    live = open_search_live_dir(run)
    setter = SetFromInside(run)
    with intra_op_threads(1):
        plain = tune(cfg, out=tmp_path / "plain", executor=ExecutorSpec(workers=1), outputs=False)
        changed = tune(
            cfg,
            out=run,
            executor=ExecutorSpec(workers=1),
            live_dir=live,
            callbacks=[setter],
            outputs=False,
        )
    assert setter.codes == {
        "ok": 0, "unknown trial": 2, "member flag": 2, "structural": 2, "not a number": 2,
        "not per-member here": 2,  # refused before queueing: the population has no momentum
    }  # fmt: skip
    lr1 = plain.trials[[t["index"] for t in plain.trials].index(1)]["params"]["optimizer.lr"]
    expected = {"epoch": 4, "path": "optimizer.lr", "old": pytest.approx(lr1), "new": LR}
    (t1,) = [t for t in changed.trials if t["index"] == 1]
    assert t1["changes"] == [expected]  # read after epoch 4: the new value from epoch 5
    assert changed.summary()["changes"] == [{"trial": 1, **expected}]
    assert t1["final_hypers"]["optimizer.lr"] == LR
    # the trajectory: the same for 4 epochs, different after; the other trials untouched
    before, after = _history(plain, 1), _history(changed, 1)
    assert after[:4] == before[:4]
    assert all(a != b for a, b in zip(after[4:], before[4:], strict=True))
    for i in (0, 2, 3):
        assert _history(changed, i) == _history(plain, i)
        assert "changes" not in [t for t in changed.trials if t["index"] == i][0]
    # stored with the trial in the Optuna study
    study = optuna.load_study(study_name=changed.plan.name, storage=changed.storage_url)
    (stored,) = [t for t in study.get_trials() if t.user_attrs["index"] == 1]
    assert stored.user_attrs["changes"] == [expected]
    progress = [json.loads(x) for x in (live / "progress.jsonl").read_text().splitlines()]
    assert not [x for x in progress if "rejected" in x]  # every bad command refused by set
    (knobs,) = [x["knobs"] for x in progress if "knobs" in x]  # the population's, once
    assert "optimizer.lr" in knobs and "optimizer.momentum" not in knobs
    # a rebuild from the stored record replays the change: the same curve
    data = load_data_for([validate_config(changed.plan.base)])
    plan = make_plan(cfg)
    (rec,), how = rebuild([t1], {1: t1}, plan.base, plan.space, data)
    assert how == {1: "alone"} and rec.changes == [expected]
    assert rec.member.history["val_loss"] == pytest.approx(after, rel=1e-12, abs=1e-15)
    without = {k: v for k, v in t1.items() if k != "changes"}
    (other,), _ = rebuild([without], {1: without}, plan.base, plan.space, data)
    assert other.member.history["val_loss"] == pytest.approx(before, rel=1e-12, abs=1e-15)
    # --resume rebuilds every member of the final model (top 4): the same tensors
    again = tune(cfg, out=run, resume=True, outputs=False)
    assert set(again.rebuilt) == {0, 1, 2, 3}
    for x, y in zip(again.model.member_tensors, changed.model.member_tensors, strict=True):
        for k in x:
            torch.testing.assert_close(x[k], y[k], rtol=1e-12, atol=1e-12)


def test_the_train_val_refit_replays_the_changes(tmp_path):
    """refit = "train_val" retrains the chosen trials on train+val: a changed trial gets
    its change again at the same epoch (the refit model differs from one without it)."""
    from caviar.tuning import refit as refit_mod

    cfg = live_config()
    run = tmp_path / "run"
    live = open_search_live_dir(run)
    result = tune(cfg, out=run, live_dir=live, callbacks=[SetFromInside(run)], outputs=False)
    data = load_data_for([validate_config(result.plan.base)])
    plan = make_plan(cfg)
    (t1,) = [t for t in result.trials if t["index"] == 1]
    recs, _ = rebuild([t1], {1: t1}, plan.base, plan.space, data)
    (with_change,) = refit_mod.refit_train_val(recs, data)
    recs[0].changes = []
    (without,) = refit_mod.refit_train_val(recs, data)
    assert t1["best_epoch"] >= 4  # the change (after epoch 4) is inside the refit's epochs
    assert any(not torch.equal(with_change.weights[k], without.weights[k]) for k in without.weights)


def test_a_change_in_a_pbt_population_is_replayed_with_its_population(tmp_path):
    """Trial 0 gets a new learning rate after epoch 2, just before PBT's exploit step at
    epoch 2 copies it (weights and values) into the worst trials: rebuilding the PBT
    trials replays the population with the change, and gives their stored curves."""
    from test_tune_pbt_final import pbt_config

    class SetTrial0(Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 0:
                assert main(["set", str(run), "--trial", "0", "optimizer.lr=0.002"]) == 0

    cfg = pbt_config(ensemble_top_k=4)
    cfg["train"]["epochs"] = 8
    run = tmp_path / "run"
    live = open_search_live_dir(run)
    result = tune(cfg, out=run, live_dir=live, callbacks=[SetTrial0()], outputs=False)
    trials = {t["index"]: t for t in result.trials}
    assert [c["epoch"] for c in trials[0]["changes"]] == [2]
    copied = [i for i, t in trials.items() if any(
        h["epoch"] == 2 and h["from"] == 0 for h in t["pbt_history"])]  # fmt: skip
    assert copied  # the changed trial was copied at epoch 2
    data = load_data_for([validate_config(result.plan.base)])
    plan = make_plan(cfg)
    chosen = [trials[i] for i in sorted(trials)]
    recs, how = rebuild(chosen, trials, plan.base, plan.space, data)
    assert "population" in set(how.values())
    for t, r in zip(chosen, recs, strict=True):
        assert r.member.history["val_loss"] == pytest.approx(
            t["history"]["val_loss"], rel=1e-12, abs=1e-15
        )
    # without the recorded change trial 0 and the trials whose weights last came from it
    # (their curves are its lineage) are not the stored ones
    lineage = [
        i for i, t in trials.items() if t["pbt_history"] and t["pbt_history"][-1]["from"] == 0
    ]
    assert lineage
    plain = {i: {k: v for k, v in t.items() if k != "changes"} for i, t in trials.items()}
    recs, _ = rebuild([plain[i] for i in [0, *lineage]], plain, plan.base, plan.space, data)
    for i, r in zip([0, *lineage], recs, strict=True):
        assert r.member.history["val_loss"] != pytest.approx(trials[i]["history"]["val_loss"])


def test_cross_validated_trials_change_in_every_fold(tmp_path):
    """search.cv = 3: a trial is 3 rows (its folds); the watch line shows one row per
    trial, the change goes to every fold, the Keras logs name each fold's trial."""

    class Logs(Callback):
        def __init__(self):
            self.members = []

        def on_epoch_end(self, epoch, logs):
            self.members.append(list(logs.members))
            if epoch == 0:
                assert main(["set", str(run), "--trial", "1", f"optimizer.lr={LR}"]) == 0

    cfg = iris_config(trials=4, cv=3)
    cfg["search"]["space"].pop("model.hidden")
    cfg["train"].update(epochs=5, patience=None)
    run = tmp_path / "run"
    live = open_search_live_dir(run)
    logs = Logs()
    result = tune(cfg, out=run, live_dir=live, callbacks=[logs], outputs=False)
    assert logs.members[0] == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    (t1,) = [t for t in result.trials if t["index"] == 1]
    assert [(c["epoch"], c["new"]) for c in t1["changes"]] == [(2, LR)]
    progress = [json.loads(x) for x in (live / "progress.jsonl").read_text().splitlines()]
    epochs = [x for x in progress if "trials" in x]
    assert all(x["trials"] == [0, 1, 2, 3] for x in epochs)
    old = pytest.approx(t1["changes"][0]["old"], rel=1e-6)
    # the mean lr of trial 1's folds: the new value in all three from epoch 3
    assert [x["lr"][1] for x in epochs][:3] == [old, old, pytest.approx(LR, rel=1e-6)]
    (applied,) = [x for x in progress if "applied" in x]  # once, for the trial's 3 folds
    assert applied["applied"]["trial"] == 1
