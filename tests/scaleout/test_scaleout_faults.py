"""Scale-out bad input from the command line: unreachable Ray or PostgreSQL, a bad
address, Ray missing: one error line, bounded time, nothing written."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
from tune_helpers import iris_config, write_toml

from caviar.errors import CaviarError
from caviar.tuning.dispatch import make_executor

CLI = [sys.executable, "-c", "from caviar.cli import main; raise SystemExit(main())", "tune"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    from caviar.tuning.dispatch import ExecutorSpec

    with pytest.raises(CaviarError, match="--address needs --executor ray"):
        make_executor(ExecutorSpec("local", address="auto"))
