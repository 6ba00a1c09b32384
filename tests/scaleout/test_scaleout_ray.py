"""``caviar tune --executor ray``: same trials as the local executor (study in
PostgreSQL), data put in the object store once, killed workers retried or their
trials failed with the reason, bad input."""

from __future__ import annotations

import math
import os
import signal
import threading
import time

from tune_helpers import iris_config

import caviar
from caviar.tune.dispatch import ExecutorSpec


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
    local = caviar.tune(cfg, out=tmp_path / "local")
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
    study = optuna.load_study(study_name="tune", storage=pg_db)
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
    cfg = small(trials=4, epochs=150, max_population=2)
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
