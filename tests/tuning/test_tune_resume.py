"""Crash safety: SIGKILL mid-run then --resume; two processes on one SQLite study."""

import fcntl
import os
import signal
import subprocess
import sys
import time

import optuna
import pytest
from tune_helpers import iris_config, write_toml

CLI = [sys.executable, "-c", "from caviar.cli import main; raise SystemExit(main())", "tune"]
N = 16
# one intra-op thread: on a loaded 2-core machine torch's thread pool spins and
# makes these small runs several times slower
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def config(tmp_path):
    cfg = iris_config(trials=N, max_population=1)
    cfg["train"]["epochs"] = 60
    return write_toml(tmp_path / "t.toml", cfg)


def finished(db):
    if not db.exists():
        return []
    # under the study's file lock, as caviar opens it: opening creates the tables, and
    # two processes creating them at once make one fail ("table ... already exists")
    with open(db.with_name(db.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            study = optuna.load_study(study_name="t", storage=f"sqlite:///{db}")
            return [t for t in study.get_trials() if t.state.is_finished()]
        except Exception:  # noqa: BLE001 - not created yet
            return []
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def n_finished_raw(db):
    """Finished trials, read with sqlite3 (read-only: never creates Optuna's tables while the
    CLI is creating them)."""
    import sqlite3

    if not db.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute(
                "SELECT COUNT(*) FROM trials WHERE state IN ('COMPLETE', 'PRUNED', 'FAIL')"
            ).fetchone()[0]
    except sqlite3.Error:
        return 0


def test_sigkill_then_resume_keeps_every_trial_exactly_once(tmp_path):
    cfg, out = config(tmp_path), tmp_path / "run"
    db = out / "study.db"
    proc = subprocess.Popen(
        [*CLI, str(cfg), "-o", str(out), "-q"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=ENV,
    )
    deadline = time.time() + 120
    # a fresh run writes its trials from a background thread: kill at the first write
    while not n_finished_raw(db) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read().decode()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {t.user_attrs["index"]: (t.number, t.value) for t in finished(db)}
    assert 1 <= len(before) < N, "the kill must land mid-run"
    assert not (out / "summary.json").exists()  # no partial outputs
    res = subprocess.run(
        [*CLI, str(cfg), "-o", str(out), "-q", "--resume"], capture_output=True, text=True, env=ENV
    )
    assert res.returncode == 0, res.stderr
    trials = finished(db)
    indices = [t.user_attrs["index"] for t in trials]
    assert sorted(indices) == list(range(N))  # every trial, exactly once
    after = {t.user_attrs["index"]: (t.number, t.value) for t in trials}
    for i, v in before.items():  # trials finished before the kill were not run again
        assert after[i] == v
    assert (out / "summary.json").exists() and (out / "model" / "model.json").exists()
    # the outputs of the resumed process count every trial once, its own and the earlier
    import json

    import pandas as pd

    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_trials"] == N and sum(summary["counts"].values()) == N
    board = pd.read_csv(out / "leaderboard.csv")
    assert sorted(board["trial"]) == list(range(N))
    if summary["best_index"] in before:  # its weights came from the study, retrained
        assert summary["rebuilt"] == {str(summary["best_index"]): "alone"}
        assert "final model: 1 member(s) trained by another process" in res.stdout
    else:
        assert summary["rebuilt"] == {}
        assert "final model:" not in res.stdout


def test_two_processes_on_one_study_share_the_work_without_duplicates(tmp_path):
    cfg, out = config(tmp_path), tmp_path / "run"
    procs = [
        subprocess.Popen(
            [*CLI, str(cfg), "-o", str(out), "-q", "--resume"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for _ in range(2)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    trials = finished(out / "study.db")
    indices = [t.user_attrs["index"] for t in trials]
    assert sorted(indices) == list(range(N))


def test_resume_of_a_finished_study_rebuilds_the_best_member(tmp_path):
    """A best trial from an earlier process is retrained alone from its config and matches
    its stored validation score (a member trains alone exactly as in its population)."""
    from caviar.tuning.runner import tune

    cfg = iris_config(trials=6)
    cfg["train"]["dtype"] = "float64"
    first = tune(cfg, out=tmp_path / "run")
    again = tune(cfg, out=tmp_path / "run", resume=True)
    assert [t["index"] for t in again.trials] == [t["index"] for t in first.trials]
    assert again.best["index"] == first.best["index"]
    from caviar.api import load_data_for
    from caviar.config import validate_config

    base = dict(cfg)
    base.pop("search")
    data = load_data_for([validate_config(base)])
    import numpy as np

    for result in (first, again):
        pred = result.model.predict_proba(data.X_val, preprocessed=True).argmax(axis=1)
        assert float(np.mean(pred == data.y_val)) == result.val_score
    assert again.test_score == first.test_score


def pbt_or_halving(kind):
    """12 trials in rounds of 4 (one population of 4 per round), PBT or halving on."""
    cfg = iris_config(trials=12, batch=4, max_population=4)
    cfg["search"]["space"].pop("model.hidden")
    cfg["train"].update(epochs=30, dtype="float64")
    if kind == "pbt":
        cfg["search"]["pbt"] = {"interval": 3, "fraction": 0.5, "perturb": 0.5}
    else:
        cfg["search"]["halving"] = {"min_epochs": 2, "eta": 2}
    return cfg


@pytest.mark.parametrize("kind", ["pbt", "halving"])
def test_two_processes_with_pbt_or_halving_share_one_sqlite_study(tmp_path, kind):
    """Two processes on one SQLite study (each its own run directory): every trial once,
    each population whole (claims are per round), the trials of a one-process run, and
    both final models the same best member (one of them rebuilt it from the study)."""
    import json

    import torch
    from safetensors.torch import load_file

    from caviar.tuning.runner import tune

    cfg = pbt_or_halving(kind)
    path = write_toml(tmp_path / "t.toml", cfg)
    db = tmp_path / "study.db"
    outs = [tmp_path / "a", tmp_path / "b"]
    procs = [
        subprocess.Popen(
            [*CLI, str(path), "-o", str(o), "-q", "--resume", "--storage", f"sqlite:///{db}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for o in outs
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    trials = finished(db)
    assert sorted(t.user_attrs["index"] for t in trials) == list(range(12))
    records = {t.user_attrs["index"]: t.user_attrs for t in trials}
    for i, rec in records.items():  # populations are whole rounds, never split
        assert rec["population"] == list(range(i // 4 * 4, i // 4 * 4 + 4))
        for step in rec["pbt_history"]:
            assert step["from"] in rec["population"]
    if kind == "pbt":
        assert any(rec["pbt_history"] for rec in records.values())
    else:
        assert any(t.user_attrs["status"] == "pruned" for t in trials)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the subprocesses (OMP_NUM_THREADS=1)
    try:
        alone = tune(cfg, out=tmp_path / "one")
    finally:
        torch.set_num_threads(threads)
    expected = {t["index"]: t for t in alone.trials}
    for t in trials:
        ref = expected[t.user_attrs["index"]]
        assert t.user_attrs["status"] == ref["status"]
        assert t.value == ref["val_score"] or t.value is None
        assert t.params == ref["params"]

    summaries = [json.loads((o / "summary.json").read_text()) for o in outs]
    best = alone.best["index"]
    assert [s["best_index"] for s in summaries] == [best, best]
    # the process that did not train the best trial rebuilt it from the study
    assert sum(str(best) in s["rebuilt"] for s in summaries) == 1
    a, b = (load_file(o / "model" / "model.safetensors") for o in outs)
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-12, atol=1e-12)


def test_indices_another_process_claimed_then_left_are_run_before_the_end(tmp_path, monkeypatch):
    """Another process claims round 1 while this one passes it, then ends without
    finishing it (killed, or its time budget skipped it): this process runs those
    indices before it finishes, so the study ends complete."""
    import caviar.tuning.storage_claims as storage
    from caviar.tuning.runner import make_plan, tune
    from caviar.tuning.storage import TrialStore

    cfg = iris_config(trials=8, batch=4, max_population=4)
    cfg["search"]["space"].pop("model.hidden")
    out = tmp_path / "run"
    name = make_plan(cfg).name  # a dict config's study: its stable hash
    store = TrialStore(f"sqlite:///{out / 'study.db'}", name, create=True)
    other = "elsewhere:4242"
    for i in range(4, 8):
        store.storage.set_study_system_attr(store.study_id, f"claim:{i}", other)
    store.close()
    checks = []
    real = storage._alive

    def alive(owner):  # the other process is alive while this one claims round 1 only
        if owner == other:
            checks.append(owner)
            return len(checks) <= 4
        return real(owner)

    monkeypatch.setattr(storage, "_alive", alive)
    result = tune(cfg, out=out, resume=True)
    assert len(checks) > 4  # round 1 was skipped while the other process lived
    assert sorted(t["index"] for t in result.trials) == list(range(8))
    assert sum(result.counts.values()) == 8
