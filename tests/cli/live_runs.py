"""A caviar command started in a subprocess, for the panda-mode tests: it runs with this
interpreter's import path and is handed back once its first epoch is in progress.jsonl."""

import os
import subprocess
import sys
import time

import pytest

from caviar.training.live import live_dir_of


def start_live(argv: list[str], out, key: str, timeout: float = 120) -> subprocess.Popen:
    """``python -m caviar.cli.main *argv`` (``-o out``); returns once ``RUN_DIR.live``'s
    progress holds a line with ``key`` ("members": a train epoch, "trials": a tune one)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "caviar.cli.main", *argv, "-o", str(out)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    progress = live_dir_of(out) / "progress.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if progress.exists() and f'"{key}"' in progress.read_text():
            return proc
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    _, stderr = proc.communicate()
    pytest.fail(f"the run never reported an epoch: {stderr.decode()[-2000:]}")
