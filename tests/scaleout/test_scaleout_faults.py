"""Scale-out faults from the command line: a driver killed mid-run then ``--resume``
(Ray executor, study in PostgreSQL); unreachable Ray or PostgreSQL; Ray missing."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from tune_helpers import iris_config, write_toml

from caviar.errors import CaviarError
from caviar.tune.dispatch import make_executor

CLI = [sys.executable, "-c", "from caviar.cli import main; raise SystemExit(main())", "tune"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
N = 8


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def finished(storage):
    import optuna

    try:
        study = optuna.load_study(study_name="t", storage=storage)
    except Exception:  # noqa: BLE001 - not created yet
        return []
    return [t for t in study.get_trials() if t.state.is_finished()]


def test_driver_killed_then_resume_on_postgres_keeps_every_trial_once(tmp_path, ray_head, pg_db):
    cfg = iris_config(trials=N, max_population=1)
    cfg["train"]["epochs"] = 60
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
    assert 2 <= len(before) < N, "the kill must land mid-run"
    res = subprocess.run([*args, "--resume"], capture_output=True, text=True, env=ENV)
    assert res.returncode == 0, res.stderr
    trials = finished(db)
    assert sorted(t.user_attrs["index"] for t in trials) == list(range(N))  # exactly once
    after = {t.user_attrs["index"]: (t.number, t.value) for t in trials}
    for i, v in before.items():  # nothing completed is run again
        assert after[i] == v
    assert all(t.user_attrs["status"] != "failed" for t in trials)
    db.engine.dispose()


def _cli_error(tmp_path, *extra):
    path, out = write_toml(tmp_path / "t.toml", iris_config(trials=2)), tmp_path / "run"
    t = time.time()
    res = subprocess.run(
        [*CLI, str(path), "-o", str(out), "-q", *extra], capture_output=True, text=True, env=ENV
    )
    assert time.time() - t < 60  # bounded, never a hang
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert not out.exists()  # nothing written
    return lines[0]


def test_unreachable_ray_address_is_one_line_and_writes_nothing(tmp_path):
    pytest.importorskip("ray")
    port = free_port()  # nothing listens there
    line = _cli_error(tmp_path, "--executor", "ray", "--address", f"127.0.0.1:{port}")
    assert line.startswith(f"error: cannot reach the Ray cluster at 127.0.0.1:{port}")


def test_bad_ray_address_is_one_line(tmp_path):
    pytest.importorskip("ray")
    line = _cli_error(tmp_path, "--executor", "ray", "--address", "nowhere")
    assert "expected host:port" in line


def test_unreachable_postgres_is_one_line_and_writes_nothing(tmp_path):
    pytest.importorskip("psycopg")
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"
    line = _cli_error(tmp_path, "--storage", url)
    assert line.startswith(f"error: cannot open storage {url}")


def test_executor_ray_without_ray_installed_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # makes `import ray` fail
    with pytest.raises(CaviarError, match=r"pip install 'caviar\[ray\]'"):
        make_executor("ray")


def test_address_without_ray_executor_is_refused():
    from caviar.tune.dispatch import ExecutorSpec

    with pytest.raises(CaviarError, match="--address needs --executor ray"):
        make_executor(ExecutorSpec("local", address="auto"))
