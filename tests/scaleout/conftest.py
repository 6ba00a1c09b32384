"""Real servers for the scale-out tests, started on loopback once per test module
(so they do not idle while the rest of the suite runs).

* ``ray_head``: ``ray start --head --block`` (2 CPUs, no dashboard, a private
  temp dir) in a subprocess; the test process joins it with ``ray.init`` once.
  Stopped by terminating that one process (it stops the head's own children).
  Note: Ray replaces ``--node-ip-address=127.0.0.1`` by the machine's address
  and its GCS listens on all interfaces unless cluster networking is off: tests/conftest.py
  sets RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 so every Ray process binds 127.0.0.1 only.
* ``postgres_url``: ``initdb`` a temporary data directory and run ``postgres``
  on a free 127.0.0.1 port (as the ``postgres`` user when we are root: the
  server refuses to run as root); trust authentication on loopback only.

A test skips only when the server software is missing (``.ci/run`` installs it).
"""

from __future__ import annotations

import glob
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tuning"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_range(size: int = 200) -> tuple[int, int]:
    """``(low, high)``: ``size`` consecutive ports in 20000-29999 that nothing listens on.

    The Ray head gets them as its worker port range, so the ports of its workers and of
    this process's driver never meet a Ray process that outlived an earlier instance
    (Ray's default range starts at 10002): a driver whose port is taken aborts the whole
    process (``Check failed: server_ Failed to start the grpc server``), which here is
    the pytest worker."""
    rng = random.Random(os.getpid() ^ time.time_ns())
    for _ in range(100):
        low = rng.randrange(20000, 30000 - size)
        if all(_port_free(port) for port in range(low, low + size)):
            return low, low + size - 1
    raise RuntimeError(f"no {size} free consecutive ports in 20000-29999")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_port(port: int, proc: subprocess.Popen, seconds: float = 60.0) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds}s")


@pytest.fixture(scope="module")
def ray_head():
    """The address ``127.0.0.1:PORT`` of a Ray head with 2 CPUs; this process joins it."""
    try:
        import ray
    except ImportError:
        pytest.skip("ray is not installed (pip install -e '.[dev]' installs it)")
    ray_bin = Path(sys.executable).with_name("ray")
    port = free_port()
    low, high = free_port_range()
    temp = tempfile.mkdtemp(prefix="cvray")  # short: Ray's socket paths must fit 107 bytes
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [
            str(ray_bin),
            "start",
            "--head",
            "--block",
            f"--port={port}",
            f"--min-worker-port={low}",
            f"--max-worker-port={high}",
            "--node-ip-address=127.0.0.1",
            "--num-cpus=2",
            "--num-gpus=0",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temp}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    try:
        wait_port(port, proc)
        ray.init(address=address, log_to_driver=False, logging_level="WARNING")
        yield address
    finally:
        if ray.is_initialized():
            ray.shutdown()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(temp, ignore_errors=True)


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    cands = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return cands[-1] if cands else None


@pytest.fixture(scope="module")
def postgres_url():
    """A SQLAlchemy URL of a fresh PostgreSQL server on 127.0.0.1 (database postgres)."""
    initdb, postgres = _pg_bin("initdb"), _pg_bin("postgres")
    if initdb is None or postgres is None:
        pytest.skip("PostgreSQL server binaries (initdb, postgres) are not installed")
    pytest.importorskip("psycopg", reason="psycopg (the caviar[postgres] extra) is not installed")
    base = Path(tempfile.mkdtemp(prefix="cvpg"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    as_user: dict = {}
    if os.geteuid() == 0:  # postgres refuses to run as root
        as_user = {"user": "postgres", "group": "postgres", "extra_groups": []}
        shutil.chown(base, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
    subprocess.run(
        [initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **as_user,
    )
    port = free_port()
    proc = subprocess.Popen(
        [postgres, "-D", str(data), "-p", str(port), "-h", "127.0.0.1"]
        + ["-k", str(sock), "-c", "fsync=off", "-c", "max_connections=200"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        **as_user,
    )
    try:
        wait_port(port, proc)
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        proc.send_signal(signal.SIGINT)  # fast shutdown
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_db(postgres_url, request):
    """A fresh database on the session's server for one test; its URL."""
    import psycopg

    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:50]
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return postgres_url.rsplit("/", 1)[0] + "/" + name
