"""--resume: trials finished by an earlier process are rebuilt exactly (PBT populations
replayed, pruned and time-budget-cut members trained for the epochs they ran), and an
interrupted search resumed gives the trials, counts, leaderboard and final model of an
uninterrupted one."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from test_tune_pbt_final import pbt_config
from tune_helpers import iris_config

import caviar.tuning.runner as runner
from caviar.api import load_data_for
from caviar.config import validate_config
from caviar.tuning.output import leaderboard
from caviar.tuning.rebuild import StopAfter
from caviar.tuning.runner import tune
from caviar.tuning.storage import TrialStore
from caviar.tuning.time_budget import TimeBudget


def member_val_scores(result):
    """Each final-model member's validation accuracy (its own predictions)."""
    data = load_data_for([validate_config(result.plan.base)])
    out = result.model.outputs(data.X_val)
    return [float(np.mean(o.argmax(axis=1) == data.y_val)) for o in out]


def assert_same_model(a, b):
    assert a.n_members == b.n_members
    for x, y in zip(a.member_tensors, b.member_tensors, strict=True):
        for k in x:
            torch.testing.assert_close(x[k], y[k], rtol=1e-12, atol=1e-12)
    assert a.configs == b.configs


def assert_members_of(first, result, *, rtol):
    """The final model's members that were ``first``'s trials have its tensors."""
    mine = {t["index"]: j for j, t in enumerate(first.trials)}
    for j, t in enumerate(result.trials):
        if t["index"] in mine:
            x, y = result.model.member_tensors[j], first.model.member_tensors[mine[t["index"]]]
            for k in x:
                torch.testing.assert_close(x[k], y[k], rtol=rtol, atol=1e-12)


def halving_config(**search):
    cfg = iris_config(trials=8, ensemble_top_k=8, **search)
    cfg["search"]["space"].pop("model.hidden")  # one structure: the top 8 include pruned
    cfg["search"]["halving"] = {"min_epochs": 1, "eta": 2}
    cfg["train"].update(dtype="float64", epochs=6)
    return cfg


@pytest.mark.parametrize(
    ("cfg", "kinds"),
    [
        (pbt_config(ensemble_top_k=4), {"population", "alone"}),
        (halving_config(), {"alone"}),
    ],
    ids=["pbt", "halving"],
)
def test_a_resumed_finished_study_rebuilds_every_chosen_member_exactly(tmp_path, cfg, kinds):
    """The first process keeps the weights in memory; the second (resume, nothing left to
    run) trains them again from the study: the same tensors and configs, and each member
    scores its stored validation score."""
    first = tune(cfg, out=tmp_path / "run", outputs=False)
    again = tune(cfg, out=tmp_path / "run", resume=True, outputs=False)
    assert first.rebuilt == {}
    assert [t["index"] for t in again.trials] == [t["index"] for t in first.trials]
    assert set(again.rebuilt) == {t["index"] for t in again.trials}  # all 4 or 8 chosen
    assert set(again.rebuilt.values()) == kinds
    assert again.summary()["rebuilt"] == {str(k): v for k, v in again.rebuilt.items()}
    assert_same_model(first.model, again.model)
    assert member_val_scores(again) == [t["val_score"] for t in again.trials]
    assert again.test_score == first.test_score
    if "population" in kinds:  # PBT members changed: rebuilt by replaying the population
        for t in again.trials:
            assert again.rebuilt[t["index"]] == ("population" if t["pbt_history"] else "alone")
    else:  # the halving run pruned members: they were rebuilt for their epochs_run only
        assert again.counts["pruned"] >= 4
        pruned = [t for t in again.trials if t["status"] == "pruned"]
        assert all(t["epochs_run"] < 6 for t in pruned)


def test_stop_after_finishes_each_member_after_its_epochs(tmp_path):
    from caviar.config import expand_configs
    from caviar.tuning.executor import run_population

    cfgs = expand_configs(
        {
            "data": {"source": "iris"},
            "model": {"hidden": [4]},
            "optimizer": {"name": "adam", "lr": [1e-3, 1e-2, 3e-2]},
            "train": {"epochs": 9, "batch_size": 16, "patience": None, "dtype": "float64"},
        }
    )
    data = load_data_for(cfgs)
    recs = run_population(cfgs, data, callbacks=[StopAfter({0: 2, 2: 5})])
    assert [r.member.epochs_run for r in recs] == [2, 9, 5]
    assert [r.member.status for r in recs] == ["complete"] * 3


class Interrupt(Exception):
    pass


def pbt_two_populations():
    cfg = pbt_config(trials=8, max_population=4, ensemble_top_k=8)
    return cfg


@pytest.mark.parametrize("make", [pbt_two_populations, halving_config], ids=["pbt", "halving"])
def test_an_interrupted_search_resumed_equals_an_uninterrupted_one(tmp_path, monkeypatch, make):
    """Round 0 is two populations of 4; the process dies after writing the first one that
    finished, before writing the other. The resumed run trains that population again
    (and only it) and ends with the trials, counts, leaderboard, best trial and final
    model of a run that was never interrupted."""
    cfg = make()
    if "pbt" not in cfg["search"]:
        cfg["search"]["max_population"] = 4
    reference = tune(cfg, out=tmp_path / "ref", outputs=False)

    writes: list[list[int]] = []
    real = TrialStore.write

    def dying(self, space, rows):
        writes.append([r["index"] for r in rows])
        if len(writes) == 2:
            raise Interrupt
        return real(self, space, rows)

    monkeypatch.setattr(TrialStore, "write", dying)
    with pytest.raises(Interrupt):  # resume=True: the study is written synchronously
        tune(cfg, out=tmp_path / "run", resume=True, outputs=False)
    kept, lost = writes
    writes.clear()
    monkeypatch.setattr(TrialStore, "write", lambda *a: writes.append(a[2]) or real(*a))
    result = tune(cfg, out=tmp_path / "run", resume=True, outputs=False)
    assert [sorted(r["index"] for r in rows) for rows in writes] == [sorted(lost)]

    def key(r):
        return [
            (t["index"], t["status"], t["params"], t["val_score"], t["epochs_run"])
            for t in r.trials
        ]

    assert key(result) == key(reference)  # nothing lost, nothing repeated, same values
    assert sorted(t["index"] for t in result.trials) == list(range(8))
    assert result.counts == reference.counts and sum(result.counts.values()) == 8
    assert result.summary()["n_trials"] == 8
    assert result.best["index"] == reference.best["index"]
    pd.testing.assert_frame_equal(leaderboard(result), leaderboard(reference))
    assert set(result.rebuilt) == set(kept)  # the first process's trials: from the study
    assert_same_model(result.model, reference.model)
    assert result.test_score == reference.test_score


def test_resume_after_a_time_budget_runs_the_skipped_population(tmp_path):
    """The budget cuts population 0 and skips population 1; a resume runs population 1
    (its first population always starts) and keeps population 0 as it was. The final
    ensemble holds members of both processes, each scoring its stored value."""
    cfg = iris_config(trials=8, batch=4, time_budget=0.3, ensemble_top_k=8)
    cfg["search"]["space"].pop("model.hidden")
    # a cosine schedule over train.epochs: a cut member is rebuilt with the same schedule
    cfg["schedule"] = {"name": "cosine"}
    cfg["train"].update(epochs=5000, patience=None, dtype="float64")
    first = tune(cfg, out=tmp_path / "run", outputs=False)
    assert sorted(t["index"] for t in first.trials) == [0, 1, 2, 3]
    result = tune(cfg, out=tmp_path / "run", resume=True, outputs=False)
    assert sorted(t["index"] for t in result.trials) == list(range(8))
    before = {t["index"]: t for t in first.trials}
    for t in result.trials:
        assert t["stopped_by"] == "time_budget" and 1 <= t["epochs_run"] < 5000
        if t["index"] in before:
            assert t == before[t["index"]]
    assert result.counts["complete"] == 8 and result.summary()["n_trials"] == 8
    assert set(result.rebuilt) == {0, 1, 2, 3} and set(result.rebuilt.values()) == {"alone"}
    assert member_val_scores(result) == [t["val_score"] for t in result.trials]
    # the rebuilt members are the first process's members, tensor for tensor
    assert_members_of(first, result, rtol=1e-9)
    assert math.isfinite(result.test_score)


def test_a_pbt_train_val_refit_is_the_same_after_resume(tmp_path):
    """refit = train_val trains the best members' final values on train+val for their best
    epoch count: the same model whether the members were in memory or rebuilt."""
    cfg = pbt_config(refit="train_val", ensemble_top_k=4)
    cfg["train"]["epochs"] = 40  # best epochs before the end: the refit's epoch counts
    first = tune(cfg, out=tmp_path / "run", outputs=False)
    again = tune(cfg, out=tmp_path / "run", resume=True, outputs=False)
    assert_same_model(first.model, again.model)
    assert "population" in set(again.rebuilt.values())
    for result in (first, again):
        summary = result.summary()
        assert summary["refit"] == "train_val"
        best = result.best
        assert summary["best_initial_params"] == best.get("pbt_initial_params")
        # the model's config is the best trial's final values, which the refit trained
        lr = result.model.configs[0]["optimizer"]["lr"]
        assert lr == summary["best_params"]["optimizer.lr"]
        if best["pbt_history"]:
            assert summary["best_initial_params"]["optimizer.lr"] != lr
    assert {t["best_epoch"] for t in first.trials} != {39}


def test_resume_with_another_configuration_is_refused(tmp_path):
    from caviar.errors import CaviarError

    cfg = iris_config(trials=2)
    tune(cfg, out=tmp_path / "run", outputs=False)
    changed = iris_config(trials=2)
    changed["train"]["epochs"] = 7
    with pytest.raises(CaviarError, match=r"another configuration \(config.train.epochs: 6"):
        tune(changed, out=tmp_path / "run", resume=True, outputs=False)
    pbt = pbt_config(trials=2)
    with pytest.raises(CaviarError, match="another configuration"):
        tune(pbt, out=tmp_path / "run", resume=True, outputs=False)
    # more trials (or another time budget, refit, ensemble size) is the same search
    more = tune(iris_config(trials=4), out=tmp_path / "run", resume=True, outputs=False)
    assert sorted(t["index"] for t in more.trials) == [0, 1, 2, 3]


def test_batch_norm_and_dropout_search_gives_the_trials_models_and_resumes(tmp_path):
    """Batch norm with a searched dropout rate and halving (compaction, early stopping):
    every member of the final model scores its stored validation score, the model
    saves and loads, and a resume rebuilds the same model."""
    from caviar.model import TrainedModel

    cfg = halving_config()
    cfg["search"]["space"]["model.dropout"] = {"uniform": [0.0, 0.3]}
    cfg["model"]["batch_norm"] = True
    cfg["train"].update(epochs=20, patience=3)
    first = tune(cfg, out=tmp_path / "run", outputs=False)
    assert first.model.batch_norm and len(set(first.model.dropout)) == 8
    assert member_val_scores(first) == [t["val_score"] for t in first.trials]
    first.model.save(tmp_path / "model")
    loaded = TrainedModel.load(tmp_path / "model")
    data = load_data_for([validate_config(first.plan.base)])
    np.testing.assert_array_equal(loaded.outputs(data.X_val), first.model.outputs(data.X_val))
    again = tune(cfg, out=tmp_path / "run", resume=True, outputs=False)
    assert_same_model(first.model, again.model)
    assert again.model.dropout == first.model.dropout


class CutAtEpoch4(TimeBudget):
    """The search's TimeBudget with its deadline passing after epoch 4 (not timing
    dependent): the epoch of PBT's second exploit step (interval 2)."""

    def __call__(self, trainer):
        self.deadline = -math.inf if trainer.epoch + 1 >= 4 else math.inf
        super().__call__(trainer)


def test_a_pbt_population_cut_by_the_time_budget_is_replayed_after_resume(tmp_path, monkeypatch):
    """PBT and the time budget together: the population is cut right after an exploit
    step (the exploited members hold their sources' weights and best-epoch record, and
    their curves so far); the first process's population is replayed on resume up to
    the epoch it was cut at; every member of the final ensemble, in memory or
    replayed, scores its stored validation score."""
    monkeypatch.setattr(runner, "TimeBudget", CutAtEpoch4)
    # a budget spent after the first population: the loop starts no second one
    cfg = pbt_config(trials=8, batch=4, time_budget=1e-3, ensemble_top_k=8)
    cfg["train"].update(epochs=5000, patience=None)
    first = tune(cfg, out=tmp_path / "run", outputs=False)
    assert sorted(t["index"] for t in first.trials) == [0, 1, 2, 3]
    assert [t["epochs_run"] for t in first.trials] == [4] * 4
    assert any(t["pbt_history"] and t["pbt_history"][-1]["epoch"] == 4 for t in first.trials)
    assert member_val_scores(first) == [t["val_score"] for t in first.trials]
    result = tune(cfg, out=tmp_path / "run", resume=True, outputs=False)
    assert sorted(t["index"] for t in result.trials) == list(range(8))
    assert {t["stopped_by"] for t in result.trials} == {"time_budget"}
    assert "population" in set(result.rebuilt.values()) and set(result.rebuilt) == {0, 1, 2, 3}
    assert member_val_scores(result) == [t["val_score"] for t in result.trials]
    assert_members_of(first, result, rtol=1e-12)


def test_a_pbt_trial_without_its_population_falls_back_to_its_final_values(tmp_path):
    """When a PBT trial's population is not all in the study it cannot be replayed: it
    is trained alone from scratch with its final values and reported as final_params."""
    from caviar.tuning.rebuild import rebuild
    from caviar.tuning.runner import make_plan
    from caviar.tuning.storage import decode_params

    cfg = pbt_config()
    result = tune(cfg, out=tmp_path / "run", outputs=False)
    t = next(t for t in result.trials if t["pbt_history"])
    plan = make_plan(cfg)
    data = load_data_for([validate_config(plan.base)])
    (rec,), how = rebuild([t], {t["index"]: t}, plan.base, plan.space, data)
    assert how == {t["index"]: "final_params"}
    final = decode_params(plan.space, t["params"])
    assert rec.member.config.optimizer.lr == final["optimizer.lr"]
    assert rec.member.epochs_run == t["epochs_run"]
    (again,), how = rebuild(
        [t], {u["index"]: u for u in result.trials}, plan.base, plan.space, data
    )
    assert how == {t["index"]: "population"}
    assert again.member.val_score == t["val_score"]
