"""Claims: two processes on one study never run the same configuration.

Before a population runs, its trial indices are *claimed*: a study system attribute
``claim:<index>`` naming the process (``host:pid``). A claim is taken under a file
lock beside the SQLite file; on a server (PostgreSQL) the read and the write are one
transaction that first locks the study's row (``SELECT ... FOR UPDATE``), so
processes claiming at once take turns and never share an index. ``--resume`` ignores
claims of processes that are no longer alive (a crash or ``kill -9``) and runs those
configurations again. Without the fast path (``caviar.tuning.storage_sql``) claims go
through Optuna's public study system attributes, under the file lock for SQLite.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

OWNER = f"{socket.gethostname()}:{os.getpid()}"


class Claims:
    """The claim methods of :class:`caviar.tuning.storage.TrialStore` (which provides
    ``locked``, ``fast``, ``storage``, ``study_id``, ``finished`` and
    ``finished_indices``)."""

    # what the host class provides (annotations only: nothing defined here)
    fast: Any  # the SQL fast path (caviar.tuning.storage_sql), or None
    storage: Any  # optuna's RDBStorage
    study_id: int
    locked: Callable[[], AbstractContextManager[None]]
    finished: Callable[[], dict[int, Any]]
    finished_indices: Callable[[], set[int]]

    def claim(self, indices: list[int]) -> list[int]:
        """Claim the indices that are neither finished nor claimed by a live process
        (module docstring); returns them."""
        with self.locked():
            if self.fast is None:
                attrs = self._claims()
                mine = _choose(indices, set(self.finished()), attrs)
                for i in mine:
                    if attrs.get(f"claim:{i}") != OWNER:
                        self.storage.set_study_system_attr(self.study_id, f"claim:{i}", OWNER)
                return mine
            with self.fast.session() as session:
                self.fast.lock_study(session)
                done = {index for _, index in self.fast.finished_rows(session)}
                attrs = self.fast.claims(session)
                mine = _choose(indices, done, attrs)
                self.fast.set_claims([f"claim:{i}" for i in mine], attrs, OWNER, session)
            return mine

    def pending_elsewhere(self, indices: list[int]) -> list[int]:
        """Indices claimed by another live process and not finished yet."""
        attrs = self._claims()
        if not any(attrs.get(f"claim:{i}") not in (None, OWNER) for i in indices):
            return []
        done = self.finished_indices()
        return [
            i
            for i in indices
            if i not in done
            and attrs.get(f"claim:{i}") not in (None, OWNER)
            and _alive(attrs[f"claim:{i}"])
        ]

    def _claims(self) -> dict[str, Any]:
        """The study's ``claim:<index>`` system attributes (key -> owner)."""
        if self.fast is not None:
            return self.fast.claims()
        attrs = self.storage.get_study_system_attrs(self.study_id)
        return {k: v for k, v in attrs.items() if k.startswith("claim:")}


def _choose(indices: list[int], done: set[int], claims: dict[str, Any]) -> list[int]:
    """The ``indices`` this process may run: not finished, and not claimed by another
    live process (a claim of a dead process, e.g. after ``kill -9``, is taken over)."""
    mine = []
    for i in indices:
        if i in done:
            continue
        owner = claims.get(f"claim:{i}")
        if owner is not None and owner != OWNER and _alive(owner):
            continue
        mine.append(i)
    return mine


def _alive(owner: str) -> bool:
    """Whether the process named ``host:pid`` still runs (other hosts: assumed alive)."""
    host, _, pid = str(owner).rpartition(":")
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True
