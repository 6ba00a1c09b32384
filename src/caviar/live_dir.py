"""``RUN_DIR.live``: the directory a running ``caviar train`` or ``caviar tune`` shares
with ``caviar watch`` and ``caviar set`` (panda mode; :mod:`caviar.training.live`,
:mod:`caviar.tuning.live_tune`).

This module imports no engine (no torch), so ``caviar set`` answers at once. It holds
what both sides need: the directory's name, whole-line appends, and ownership --
``owner.json`` names the process and host of the run. A directory left by a killed run
(its owner is dead) is taken over by the next run; one held by a live process is not.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import warnings
from pathlib import Path

from caviar.serialize import dumps

OWNER = "owner.json"


def live_dir_of(run_dir: str | Path) -> Path:
    """``RUN_DIR.live``: where a running training writes progress and reads commands."""
    run_dir = Path(run_dir)
    return run_dir.with_name(run_dir.name + ".live")


def append_line(path: Path, record: dict) -> None:
    """One JSON line appended with a single write (readers never see half a line)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (dumps(record, indent=None) + "\n").encode())
    finally:
        os.close(fd)


_gone: set[str] = set()  # live directories this process could no longer write


def append_progress(live: Path, record: dict) -> bool:
    """Append ``record`` to ``live/progress.jsonl``; when that fails (the directory was
    removed or made unwritable, the disk is full) warn once for ``live`` and return
    False: the run goes on without its live view."""
    if str(live) in _gone:
        return False
    try:
        append_line(live / "progress.jsonl", record)
        return True
    except OSError as e:
        live_view_off(live, e)
        return False


def live_view_off(live: Path, error: OSError) -> None:
    """Note that ``live`` can no longer be written: one warning per directory."""
    if str(live) in _gone:
        return
    _gone.add(str(live))
    warnings.warn(
        f"live view off: cannot write {live} ({error.strerror or type(error).__name__}); "
        "the run goes on (caviar watch/set no longer follow it)",
        RuntimeWarning,
        stacklevel=3,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_running(live: Path) -> bool | None:
    """Whether the process named in ``live/owner.json`` runs (None: no readable owner,
    or it runs on another host)."""
    try:
        owner = json.loads((live / OWNER).read_text())
        pid, host = int(owner["pid"]), str(owner["host"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return _alive(pid) if host == socket.gethostname() else None


def claim_live_dir(run_dir: str | Path) -> Path | None:
    """Create ``RUN_DIR.live`` with this process as its owner; None when a live process
    (or one this host cannot check) holds it. A directory whose owner has died (a killed
    run) is replaced."""
    live = live_dir_of(run_dir)
    live.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            live.mkdir()
        except FileExistsError:
            if owner_running(live) is not False:
                return None
            shutil.rmtree(live, ignore_errors=True)  # left by a run that was killed
            continue
        _gone.discard(str(live))  # a new run: its live view is on again
        try:
            (live / OWNER).write_text(
                json.dumps({"pid": os.getpid(), "host": socket.gethostname()}) + "\n"
            )
            (live / "progress.jsonl").touch()
        except OSError:
            shutil.rmtree(live, ignore_errors=True)
            raise
        return live
    return None
