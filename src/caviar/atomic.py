"""Writing directories all-or-nothing: a failed or interrupted write leaves no trace.

What they write gets the usual permissions (``0666`` files and ``0777`` directories
less the process umask: ``0644``/``0755`` under the common umask ``022``), not the
private ``0600``/``0700`` of :mod:`tempfile`'s temporary names.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from caviar.errors import CaviarError


def umask() -> int:
    """The process umask, read without changing it (Linux: ``/proc/self/status``)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restore
    os.umask(mask)
    return mask


@contextmanager
def atomic_directory(target: str | Path, *, replace: bool = True) -> Iterator[Path]:
    """Yield a temporary sibling directory that becomes ``target`` if the block succeeds.

    On any exception the temporary directory is removed and ``target`` is left as
    it was. On success an existing ``target`` (directory or file) is swapped out by
    renames, or with ``replace=False`` never touched: a ``target`` that appeared
    meanwhile is an error and the new results stay in the temporary directory, named.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    os.chmod(tmp, 0o777 & ~umask())
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not replace:
        try:  # rename(2) replaces an empty directory only: never a file or a run
            os.rename(tmp, target)
        except OSError:
            raise CaviarError(
                f"{target} was created by someone else while this run wrote; "
                f"its results are kept in {tmp}"
            ) from None
        return
    old = target.with_name(f".{target.name}-old")
    if target.exists() or target.is_symlink():
        _remove(old)
        os.replace(target, old)
    os.replace(tmp, target)
    _remove(old)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


@contextmanager
def atomic_file(target: str | Path) -> Iterator[Path]:
    """Yield a temporary sibling path that replaces ``target`` if the block succeeds."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}-", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~umask())
    try:
        yield tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)
