"""``caviar tune --executor ray``: same trials as the local executor (study in
PostgreSQL), data put in the object store once, killed workers retried or their
trials failed with the reason, a killed driver resumed on PostgreSQL.

All Ray tests are in this module: the Ray head lives for this module only."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from tune_helpers import iris_config, write_toml

import caviar
from caviar.tuning.dispatch import ExecutorSpec

CLI = [sys.executable, "-c", "from caviar.cli import main; raise SystemExit(main())", "tune"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
N = 8


def small(trials=6, epochs=6, **search):
    """Two structures ([8], [16]) -> at least two populations."""
    cfg = iris_config(trials=trials, **search)
    cfg["train"]["epochs"] = epochs
    return cfg


def outcome(result):
    return sorted(
        (t["index"], t["status"], t["params"]["optimizer.lr"], t["val_score"], t["val_loss"])
        for t in result.trials
    )


def test_ray_into_postgres_gives_the_local_trials_and_best(tmp_path, ray_head, pg_db):
    import optuna

    cfg = small(max_population=2)
    local = caviar.tune(cfg, out=tmp_path / "local", outputs=False)
    remote = caviar.tune(
        cfg, out=tmp_path / "ray", storage=pg_db, executor=ExecutorSpec("ray", ray_head)
    )
    assert len(local.trials) == len(remote.trials) == 6
    for a, b in zip(outcome(local), outcome(remote), strict=True):
        assert a[:3] == b[:3]
        assert math.isclose(a[3], b[3], rel_tol=1e-9) and math.isclose(a[4], b[4], rel_tol=1e-9)
    assert local.best["index"] == remote.best["index"]
    assert local.val_score == remote.val_score
    assert math.isclose(local.test_score, remote.test_score, rel_tol=1e-9)
    # the study lives in PostgreSQL (readable by optuna-dashboard), not in a file
    study = optuna.load_study(study_name=remote.plan.name, storage=pg_db)
    assert sorted(t.user_attrs["index"] for t in study.get_trials()) == list(range(6))
    assert not (tmp_path / "ray" / "study.db").exists()


def test_data_goes_into_the_object_store_once(tmp_path, ray_head, monkeypatch):
    import ray

    from caviar.data import PreparedData

    put = ray.put
    calls = []

    def counting_put(value, *a, **k):
        calls.append(type(value))
        return put(value, *a, **k)

    monkeypatch.setattr(ray, "put", counting_put)
    spec = ExecutorSpec("ray", ray_head)
    result = caviar.tune(small(max_population=1), out=tmp_path / "r", executor=spec)
    assert len(result.trials) == 6  # six populations of one member
    assert calls == [PreparedData]


def _task_pids() -> list[int]:
    """PIDs of Ray workers running a population right now (their title names the task)."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as fh:
                cmd = fh.read()
        except OSError:
            continue
        if cmd.startswith(b"ray::_population_task"):
            pids.append(int(d))
    return pids


def _tune_and_kill_one_worker(tmp_path, ray_head, retries):
    # each population runs 1,500 epochs without early stopping (seconds even on a quiet
    # machine), so the kill lands mid-population: with 150 epochs and patience 100 a
    # quiet run's population could finish in the 0.3 s between seeing its worker and
    # the kill, and the killed worker was then idle (no population lost, 0 failed trials)
    cfg = small(trials=4, epochs=1500, max_population=2)
    cfg["train"]["patience"] = None
    box: dict = {}

    def work():
        try:
            spec = ExecutorSpec("ray", ray_head, max_retries=retries)
            box["result"] = caviar.tune(cfg, out=tmp_path / "r", executor=spec)
        except BaseException as e:  # noqa: BLE001 - reported by the test
            box["error"] = e

    t = threading.Thread(target=work)
    t.start()
    killed = None
    deadline = time.time() + 120
    while killed is None and t.is_alive() and time.time() < deadline:
        pids = _task_pids()
        if pids:
            time.sleep(0.3)  # mid-population, not at its first instruction
            try:
                os.kill(pids[0], signal.SIGKILL)
                killed = pids[0]
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    t.join(300)
    assert killed is not None, "no population task was seen running"
    assert "error" not in box, box.get("error")
    return box["result"]


def test_a_killed_worker_is_retried_and_every_trial_runs_exactly_once(tmp_path, ray_head):
    result = _tune_and_kill_one_worker(tmp_path, ray_head, retries=2)
    assert sorted(t["index"] for t in result.trials) == [0, 1, 2, 3]
    assert all(t["status"] in ("complete", "early_stopped") for t in result.trials)
    assert result.counts["failed"] == 0


def test_retries_spent_marks_the_population_failed_with_the_reason(tmp_path, ray_head):
    result = _tune_and_kill_one_worker(tmp_path, ray_head, retries=0)
    assert sorted(t["index"] for t in result.trials) == [0, 1, 2, 3]
    failed = [t for t in result.trials if t["status"] == "failed"]
    assert len(failed) == 2  # one population of two members
    assert all("population lost after 1 attempts" in t["error"] for t in failed)
    assert all("WorkerCrashedError" in t["error"] for t in failed)
    ok = [t for t in result.trials if t["status"] != "failed"]
    assert len(ok) == 2 and all(math.isfinite(t["val_score"]) for t in ok)


def finished(storage):
    import optuna

    try:
        study = optuna.load_study(study_name="t", storage=storage)
    except Exception:  # noqa: BLE001 - not created yet
        return []
    return [t for t in study.get_trials() if t.state.is_finished()]


def test_driver_killed_then_resume_on_postgres_keeps_every_trial_once(tmp_path, ray_head, pg_db):
    cfg = iris_config(trials=N, max_population=1)
    # every trial runs all its epochs (a second or more each): on a quiet machine 60
    # epochs with early stopping let all 8 trials finish between two polls below
    cfg["train"].update(epochs=1000, patience=1000)
    path, out = write_toml(tmp_path / "t.toml", cfg), tmp_path / "run"
    args = [*CLI, str(path), "-o", str(out), "-q", "--storage", pg_db]
    args += ["--executor", "ray", "--address", ray_head]
    import optuna

    db = optuna.storages.RDBStorage(pg_db)  # one connection pool for all the polling
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
    deadline = time.time() + 180
    while len(finished(db)) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert proc.poll() is None, proc.stderr.read().decode()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {t.user_attrs["index"]: (t.number, t.value) for t in finished(db)}
    assert 2 <= len(before) < N, f"the kill must land mid-run ({len(before)} of {N} done)"
    res = subprocess.run([*args, "--resume"], capture_output=True, text=True, env=ENV)
    assert res.returncode == 0, res.stderr
    trials = finished(db)
    assert sorted(t.user_attrs["index"] for t in trials) == list(range(N))  # exactly once
    after = {t.user_attrs["index"]: (t.number, t.value) for t in trials}
    for i, v in before.items():  # nothing completed is run again
        assert after[i] == v
    assert all(t.user_attrs["status"] != "failed" for t in trials)
    db.engine.dispose()


def test_resource_requests_set_the_tasks_in_flight(ray_head):
    from caviar.errors import CaviarError
    from caviar.tuning.ray_executor import RayExecutor

    assert RayExecutor(ray_head, cpus=1).capacity == 2  # the head has 2 CPUs
    assert RayExecutor(ray_head, cpus=0.5).capacity == 4
    assert RayExecutor(ray_head, cpus=2).capacity == 1
    with pytest.raises(CaviarError, match="0 GPUs; a population asks for 1 CPUs and 0.25 GPUs"):
        RayExecutor(ray_head, gpus=0.25)
    with pytest.raises(CaviarError, match="2 CPUs and 0 GPUs; a population asks for 3 CPUs"):
        RayExecutor(ray_head, cpus=3)


def test_time_budget_holds_inside_ray_tasks_and_resumes_run_the_rest(tmp_path, ray_head):
    """The TimeBudget callback travels to the worker with an absolute deadline: the
    populations running in Ray tasks stop at it (stored complete, stopped_by), no
    population starts after it, and each --resume (with the same budget) runs at least
    one of the skipped ones, until all ran once. A last resume rebuilds every member of
    the final ensemble on the driver; each scores its stored validation score."""
    import numpy as np

    from caviar.api import load_data_for
    from caviar.config import validate_config

    cfg = small(trials=6, epochs=20_000, max_population=1, time_budget=0.5)
    cfg["train"].update(patience=None, dtype="float64")
    spec = ExecutorSpec("ray", ray_head)
    out = tmp_path / "r"
    done: dict = {}
    for run in range(6):
        result = caviar.tune(cfg, out=out, resume=run > 0, executor=spec)
        new = [t for t in result.trials if t["index"] not in done]
        # at most the 2 populations in flight at the start (the head has 2 CPUs) ran
        assert 1 <= len(new) <= 2
        for t in result.trials:
            assert (t["status"], t["stopped_by"]) == ("complete", "time_budget")
            assert 1 <= t["epochs_run"] < 20_000
            if t["index"] in done:  # a finished trial is never run again
                assert t == done[t["index"]]
        done.update({t["index"]: t for t in new})
        if len(done) == 6:
            break
    assert len(done) == 6
    final = caviar.tune(cfg, out=out, resume=True, executor=spec, overrides={"ensemble_top_k": 6})
    assert [t["index"] for t in final.trials] == [t["index"] for t in result.trials]
    data = load_data_for([validate_config(final.plan.base)])
    chosen = [t for t in final.trials if t["structure"] == final.best["structure"]]
    assert set(final.rebuilt) == {t["index"] for t in chosen}
    outputs = final.model.outputs(data.X_val)
    assert len(outputs) == len(chosen)
    for o, t in zip(outputs, chosen, strict=True):
        assert math.isclose(float(np.mean(o.argmax(axis=1) == data.y_val)), t["val_score"])


def test_pbt_populations_on_ray_give_the_local_trials(tmp_path, ray_head):
    """PBT callbacks travel to the Ray task seeded as locally: the same exploit/explore
    steps, final values and scores as the local executor."""
    from test_tune_pbt_final import pbt_config

    cfg = pbt_config(trials=8, max_population=4)
    local = caviar.tune(cfg, out=tmp_path / "local", outputs=False)
    remote = caviar.tune(
        cfg, out=tmp_path / "ray", executor=ExecutorSpec("ray", ray_head), outputs=False
    )
    assert any(t["pbt_history"] for t in local.trials)
    for a, b in zip(local.trials, remote.trials, strict=True):
        assert a["index"] == b["index"] and a["pbt_history"] == b["pbt_history"]
        assert a["params"] == b["params"] and a["population"] == b["population"]
        assert math.isclose(a["val_loss"], b["val_loss"], rel_tol=1e-9)
    assert local.best["index"] == remote.best["index"]


CLAIMER = """
import json, pathlib, sys, time
import caviar.tuning.storage as st
import caviar.tuning.storage_claims as claims
url, box = sys.argv[1], pathlib.Path(sys.argv[2])
store = st.TrialStore(url, "s", create=True)
choose = claims._choose
def slow(*args):  # widen the window between reading the claims and writing them
    out = choose(*args)
    time.sleep(0.5)
    return out
claims._choose = slow
(box / f"ready{sys.argv[3]}").touch()
while not (box / "go").exists():
    time.sleep(0.005)
print(json.dumps(store.claim(list(range(20)))))
store.close()
"""


def test_two_drivers_claiming_at_once_on_postgres_never_share_an_index(tmp_path, pg_db):
    """On a server there is no file lock: the claim's read and write are one transaction
    that locks the study row first, so two drivers claiming the same round at the same
    instant take turns (the second sees the first's claims) instead of both taking it."""
    from caviar.tuning.storage import TrialStore

    TrialStore(pg_db, "s", create=True).close()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, pg_db, str(tmp_path), str(k)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
        )
        for k in range(2)
    ]
    deadline = time.time() + 120
    while not all((tmp_path / f"ready{k}").exists() for k in range(2)):
        assert time.time() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.02)
    (tmp_path / "go").touch()
    claimed = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        claimed.append(set(json.loads(out.strip().splitlines()[-1])))
    assert not claimed[0] & claimed[1]
    assert claimed[0] | claimed[1] == set(range(20))
    assert sorted(len(c) for c in claimed) == [0, 20]  # the second saw the first's claims


def test_cnn_populations_on_ray_give_the_local_trials(tmp_path, ray_head):
    """Module populations (the built-in CNN, rebuilt in the Ray worker from its factory
    path) give the same trials on Ray as locally."""
    cfg = iris_config(trials=6, max_population=3)
    cfg["model"] = {"kind": "cnn", "channels": [4], "hidden": [8]}
    cfg["search"]["space"].pop("model.hidden")
    cfg["search"]["space"]["model.channels"] = {"choice": [[4], [6]]}
    local = caviar.tune(cfg, out=tmp_path / "local", outputs=False)
    remote = caviar.tune(cfg, out=tmp_path / "ray", executor=ExecutorSpec("ray", ray_head))
    assert remote.model.network["kind"] == "module"
    by_index = {t["index"]: t for t in remote.trials}  # ranked order may break ties apart
    assert sorted(by_index) == sorted(t["index"] for t in local.trials)
    for a in local.trials:
        b = by_index[a["index"]]
        assert a["params"] == b["params"] and a["status"] == b["status"]
        assert math.isclose(a["val_loss"], b["val_loss"], rel_tol=1e-9)
        assert a["val_score"] == b["val_score"]


def test_a_user_module_factory_travels_to_the_ray_workers(tmp_path, ray_head):
    """A factory passed as module= (registered in the driver only, not importable by
    path on the workers: it is defined inside this test) trains on Ray as locally."""
    from torch import nn

    def local_net(cfg):
        return nn.Sequential(
            nn.Linear(cfg["input_shape"][0], 6), nn.Tanh(), nn.Linear(6, cfg["n_outputs"])
        )

    cfg = iris_config(trials=4, max_population=2)
    cfg["search"]["space"].pop("model.hidden")
    cfg.pop("model")
    local = caviar.tune(cfg, out=tmp_path / "local", module=local_net, outputs=False)
    remote = caviar.tune(
        cfg, out=tmp_path / "ray", module=local_net, executor=ExecutorSpec("ray", ray_head)
    )
    by_index = {t["index"]: t for t in remote.trials}
    assert sorted(by_index) == sorted(t["index"] for t in local.trials)
    for a in local.trials:
        assert math.isclose(a["val_loss"], by_index[a["index"]]["val_loss"], rel_tol=1e-9)
