"""Run directories: what kind of run a directory holds, and the rule that no command
destroys an earlier result.

* ``caviar train -o DIR`` (and ``caviar diagnose -o DIR``) refuses a ``DIR`` that
  exists (a run directory, any other directory with files in it, or a regular file)
  unless ``--overwrite`` is given; then it names what it replaces, and replaces it
  only once the new run has succeeded (all or nothing, :mod:`caviar.atomic`).
* ``caviar tune -o DIR`` starts in a new or empty directory; a directory that holds
  a tune run needs ``--resume`` (which continues that run's own study only: another
  study name is refused), and a directory holding another kind of run, or other
  files, is refused. A start without ``--resume`` *claims* the directory by creating
  its ``run.json`` with ``O_CREAT | O_EXCL``, an atomic operation: of two starts on
  one new directory at the same moment exactly one wins.

Every run directory holds ``run.json`` (``{"kind": "train" | "tune" | "diagnose",
...}``); directories written before it existed are recognised by their files
(:func:`run_kind`).
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

from caviar.errors import CaviarError

MARKER = "run.json"
KINDS = ("train", "tune", "diagnose")


def marker(kind: str, **fields: Any) -> str:
    """The text of ``run.json`` for a run of ``kind``."""
    from caviar.version import __version__

    return json.dumps({"kind": kind, "caviar_version": __version__, **fields}, indent=2) + "\n"


def read_marker(path: Path) -> dict[str, Any] | None:
    """``run.json`` of the directory ``path`` (None when absent or unreadable)."""
    try:
        data = json.loads((path / MARKER).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def run_kind(path: str | Path) -> str | None:
    """What ``path`` holds: ``"train"``, ``"tune"`` or ``"diagnose"`` (a run), ``"file"``
    (a regular file or other non-directory), ``"other"`` (a directory with files that
    are no caviar run), or None (absent, or an empty directory)."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return None
    if not path.is_dir():
        return "file"
    info = read_marker(path)
    if info is not None and info.get("kind") in KINDS:
        return str(info["kind"])
    names = {p.name for p in path.iterdir()}
    if not names:
        return None
    if names & {"study.db", "study.db.lock"}:
        return "tune"
    if "history.csv" in names:
        return "train"
    if "report.json" in names and "summary.json" not in names:
        return "diagnose"
    if "summary.json" in names:  # a tune run whose study lives on a server
        return "tune"
    return "other"


def _what(kind: str) -> str:
    return {"file": "a file", "other": "a directory with files in it"}.get(kind, f"a {kind} run")


def _contents(path: Path) -> str:
    """`` (history.csv, model/, ...)`` of a directory, empty for a file."""
    if not path.is_dir():
        return ""
    names = sorted(p.name + ("/" if p.is_dir() else "") for p in path.iterdir())
    shown = ", ".join(names[:6]) + (f", ... {len(names)} entries" if len(names) > 6 else "")
    return f" ({shown})"


def check_new_output(path: str | Path, *, overwrite: bool, flag: str = "--overwrite") -> str | None:
    """Refuse an existing ``path`` (run directory, other non-empty directory or file)
    unless ``overwrite``; returns the line naming what will be replaced (None when
    nothing is)."""
    path = Path(path)
    kind = run_kind(path)
    if kind is None:
        return None
    if not overwrite:
        raise CaviarError(
            f"{path} already exists ({_what(kind)}); choose another -o or pass {flag} to replace it"
        )
    return f"{flag}: {path}, {_what(kind)}{_contents(path)}, is replaced once this run succeeds"


def study_storage_url(run_dir: Path, summary: dict[str, Any]) -> str | None:
    """The storage URL of a tune run's own study: ``RUN_DIR/study.db`` (absolute) when it
    exists and the run used SQLite, so that a moved or copied run opens its own study;
    else the URL ``summary.json`` saved (a server); None for no study."""
    url = summary.get("storage") if isinstance(summary.get("storage"), str) else None
    own = run_dir / "study.db"
    if own.exists() and (url is None or url.startswith("sqlite")):
        return f"sqlite:///{own.resolve()}"
    other = url.removeprefix("sqlite:///") if url and url.startswith("sqlite:///") else None
    if other is not None and Path(other).name == "study.db":  # another run directory's study
        raise CaviarError(
            f"{run_dir} has no study.db (copied without it?); its summary names {other}, "
            "the study of the run it came from, which is not read: copy study.db with the run"
        )
    return url


def read_only_storage(url: str, failure: str) -> tuple[Any, list[str]]:
    """The optuna storage at ``url``, opened as optuna-dashboard opens it (no table
    creation, no schema check, which loads every Alembic revision script), and the names
    of its studies. A storage it cannot read is one line,
    ``CaviarError(f"{failure}: {the error's first line}")``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        storage = optuna.storages.RDBStorage(
            url, skip_table_creation=True, skip_compatibility_check=True
        )
        names = [s.study_name for s in storage.get_all_studies()]
    except Exception as e:  # noqa: BLE001 - any driver/schema failure, one line
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CaviarError(f"{failure}: {first}") from None
    return storage, names


def check_output_file(path: str | Path | None, *, overwrite: bool) -> str | None:
    """Refuse an output file (``predict -o``, ``report -o``) that already exists unless
    ``overwrite``, and a path that is a directory; returns the line naming what will be
    replaced (None when nothing is, or for no path: stdout / the default)."""
    if path is None:
        return None
    path = Path(path)
    if path.is_dir():
        raise CaviarError(f"{path} is a directory; -o needs a file name")
    if not path.exists():
        return None
    if not overwrite:
        raise CaviarError(
            f"{path} already exists; choose another -o or pass --overwrite to replace it"
        )
    return f"--overwrite: {path} ({path.stat().st_size} bytes) is replaced"


def claim_tune_dir(path: str | Path, *, study: str, resume: bool, storage: str) -> bool:
    """Check and claim ``path`` for a tune run of study ``study`` (see the module rule).

    Returns True when the directory already held this tune run (a resume), False when
    this call claimed a new one. Raises :class:`CaviarError` for a directory that
    holds another kind of run or other files, for a start without ``resume`` on a
    tune run (or a claim another process won), and for a resume of another study."""
    path = Path(path)
    kind = run_kind(path)
    if kind == "file":
        raise CaviarError(f"{path} is a file, not a run directory; choose another -o")
    if kind in ("train", "diagnose", "other"):
        what = "files that are not a caviar run" if kind == "other" else f"a {kind} run"
        raise CaviarError(
            f"{path} holds {what}; tune needs a new or empty directory (choose another -o)"
        )
    if kind == "tune":
        if not resume:
            raise CaviarError(
                f"{path} already holds a study; pass --resume to continue it "
                "or choose another run directory"
            )
        _check_same_study(path, study)
        _write_marker(path, study, storage)
        return True
    path.mkdir(parents=True, exist_ok=True)
    if not _write_marker(path, study, storage) and not resume:
        raise CaviarError(
            f"{path} was claimed by another caviar tune started at the same moment; "
            "pass --resume to join its study or choose another run directory"
        )
    return False


def _check_same_study(path: Path, study: str) -> None:
    """A resume continues the run's own study: ``run.json`` (or, for a run written
    before it existed, the studies in ``study.db``) must name ``study``."""
    info = read_marker(path)
    names: list[str] = []
    if info is not None and info.get("study") is not None:
        names = [str(info["study"])]
    elif (path / "study.db").is_file():
        names = _sqlite_study_names(path / "study.db")
    if names and study not in names:
        listed = ", ".join(f"'{n}'" for n in names)
        raise CaviarError(
            f"{path} holds the study {listed}, not '{study}': --resume continues a run with "
            "the config that started it (its file name is the study name); choose another -o"
        )


def _sqlite_study_names(db: Path) -> list[str]:
    """Study names in an Optuna SQLite file, read-only (empty when unreadable)."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return [r[0] for r in con.execute("SELECT study_name FROM studies")]
    except sqlite3.Error:
        return []


def _write_marker(path: Path, study: str, storage: str) -> bool:
    """Create ``run.json`` of a tune run; False when it exists already. ``O_EXCL`` makes
    this the atomic claim: it fails if another process created the file first."""
    target = path / MARKER
    text = marker("tune", study=study, storage=storage)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return False
    try:
        _fill(fd, text.encode())
    except BaseException:  # e.g. disk full: no empty run.json is left to block a retry
        target.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    return True


def _fill(fd: int, data: bytes) -> None:
    """Write all of ``data`` to the open file ``fd``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def remove_unstarted_tune(path: Path, *, dir_existed: bool, db: Path | None, marker: bool) -> None:
    """Undo a tune start that failed before any trial was stored: its ``run.json`` (when
    ``marker``: this start wrote it), its new SQLite study ``db`` (and journal files)
    and, when this start created it, the directory if empty -- so a retry starts as if
    nothing happened."""
    if marker:
        (path / MARKER).unlink(missing_ok=True)
    if db is not None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            with contextlib.suppress(OSError):  # absent, or its directory cannot exist
                Path(str(db) + suffix).unlink()
    if not dir_existed:
        with contextlib.suppress(OSError):  # not empty: something else is there, leave it
            path.rmdir()


def absolute_url(url: str) -> str:
    """A storage URL that names the same study from any working directory: a relative
    ``sqlite:///runs/x/study.db`` becomes ``sqlite:////abs/runs/x/study.db``."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.startswith(prefix + "/"):
        return url
    rest = url.removeprefix(prefix)
    if not rest or rest.startswith(":memory:"):
        return url
    return prefix + str(Path(rest).resolve())
