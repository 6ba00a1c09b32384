"""Crash safety: SIGKILL mid-run then --resume; two processes on one SQLite study."""

import fcntl
import os
import signal
import subprocess
import sys
import time

import optuna
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
    from caviar.tune.runner import tune

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
        pred = result.model.predict_proba(data.X_val).argmax(axis=1)
        assert float(np.mean(pred == data.y_val)) == result.val_score
    assert again.test_score == first.test_score
