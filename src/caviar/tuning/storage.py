"""Trial storage in an Optuna study: the journal that makes ``--resume`` possible.

The study is laid out so that Optuna's own tools read it (``optuna.load_study``,
``optuna.visualization``, optuna-dashboard): one Optuna trial per finished trial,
with its per-epoch validation scores as intermediate values and its real start and
end times (``caviar.tuning.storage_records``). The study's user attributes hold what
``--resume`` checks (``search``: the configuration and data fingerprint) and the
space's kinds (``space``); its system attributes hold the claims
(``caviar.tuning.storage_claims``).

A population's trials are written together after it finished (one short burst of
writes, so storage costs little): in one transaction on Optuna's RDB storage at a
tested release and schema (``caviar.tuning.storage_sql``, about 1 ms a trial),
else through Optuna's public ``create_new_trial`` (one transaction a trial).
SQLite studies use write-ahead logging with ``synchronous=NORMAL`` (no wait for
the disk at each commit; :meth:`TrialStore.close` folds the log back into
``study.db``); the trials this process wrote are read back from memory (the form
they were stored in) unless the study holds others.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from caviar.errors import CaviarError
from caviar.serialize import json_safe
from caviar.trial import Trial
from caviar.tuning.space import SearchSpace
from caviar.tuning.storage_claims import OWNER, Claims
from caviar.tuning.storage_records import (
    decode_params,
    distribution,
    encode_params,
    frozen_trial,
    stored_form,
    stored_trial,
    trial_dict,
)
from caviar.tuning.storage_sql import fast_sql

__all__ = [
    "OWNER",
    "TrialStore",
    "decode_params",
    "encode_params",
    "import_backend",
    "sqlite_path",
    "stored_trial",
    "trial_dict",
]


def import_backend() -> None:
    """Import the modules Optuna's RDB storage loads when a study opens (SQLAlchemy,
    Alembic): for callers that want that one-time cost paid before a timed region."""
    import alembic.migration  # noqa: F401
    import alembic.script  # noqa: F401
    import optuna.storages._rdb.models  # noqa: F401
    import optuna.storages._rdb.storage  # noqa: F401
    import sqlalchemy.dialects.sqlite  # noqa: F401
    import sqlalchemy.orm  # noqa: F401


def sqlite_path(url: str) -> Path | None:
    """The file behind an ``sqlite:///path`` URL (None for other back ends)."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    return None


# trials whose records a store keeps in memory to return them at the end without reading
# the study back; a longer search drops them and reads the study once at its end, so
# what a search holds does not grow with the trials it finished
WRITTEN_CACHE = 500


class TrialStore(Claims):
    """One Optuna study holding the trials of one tuning run."""

    def __init__(
        self,
        url: str,
        study_name: str,
        *,
        create: bool,
        objectives: list[str] | None = None,
        directions: list[str] | None = None,
    ) -> None:
        """``objectives`` and ``directions``: a multi-objective study's objective names
        (the order of each trial's values) and their directions (``search.objectives``)."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.url = url
        self.study_name = study_name
        path = sqlite_path(url)
        self.lock_path = path.with_name(path.name + ".lock") if path is not None else None
        try:
            with self.locked():
                # a database this process creates now has the current schema: Optuna's
                # schema check (which loads every Alembic revision script) is skipped
                fresh = path is not None and not path.exists()
                storage = optuna.storages.RDBStorage(
                    url, engine_kwargs=_engine_kwargs(url), skip_compatibility_check=fresh
                )
                if create:
                    self.study = optuna.create_study(
                        storage=storage,
                        study_name=study_name,
                        **({"directions": directions} if objectives else {"direction": "maximize"}),
                        load_if_exists=True,
                    )
                else:
                    self.study = optuna.load_study(study_name=study_name, storage=storage)
        except CaviarError:
            raise
        except KeyError:
            raise CaviarError(f"storage {url}: no study named '{study_name}' to resume") from None
        except Exception as e:  # noqa: BLE001 - any driver/connection failure, one line
            first = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise CaviarError(f"cannot open storage {url}: {first}") from None
        self.objectives = list(objectives) if objectives else None
        self.storage = storage  # the RDBStorage itself (the study wraps it in a cache)
        if path is not None:
            _sqlite_wal(storage)
        self.study_id = self.study._study_id
        self.fast = fast_sql(storage, self.study_id)  # None: Optuna's public API
        self._written: dict[int, dict] = {}  # trial_id -> trial_dict of what it stored
        self._caching = True  # off past WRITTEN_CACHE trials: memory stays flat

    def close(self) -> None:
        """Close the study's connections. SQLite: the write-ahead log is folded back
        and the file returns to the default rollback journal, so ``study.db`` alone
        holds every trial and opens anywhere, also read-only (if another process
        still has the study open the file stays in WAL mode until it closes)."""
        engine = getattr(self.storage, "engine", None)
        if engine is None:
            return
        if self.lock_path is not None:
            with contextlib.suppress(Exception), engine.connect() as connection:
                connection.exec_driver_sql("PRAGMA journal_mode=DELETE")
        engine.dispose()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """An exclusive file lock for SQLite studies (a no-op for server back ends)."""
        if self.lock_path is None:
            yield
            return
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.lock_path, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- study attributes ------------------------------------------------------------
    def set_meta(self, key: str, value: Any) -> None:
        self.storage.set_study_user_attr(self.study_id, key, json_safe(value))

    def meta(self) -> dict[str, Any]:
        return dict(self.storage.get_study_user_attrs(self.study_id))

    # -- reading ---------------------------------------------------------------------
    def finished(self) -> dict[int, Any]:
        """Finished trials by index (the latest if an index somehow repeats)."""
        out = {}
        for t in self.study.get_trials(deepcopy=False):
            if t.state.is_finished() and "index" in t.user_attrs:
                out[int(t.user_attrs["index"])] = t
        return out

    def finished_records(self) -> list[dict[str, Any]]:
        """Every finished trial (the latest per index) as :func:`trial_dict` reads it.
        Trials this store wrote come from memory, exactly as they read back; only the
        others are read from the study."""
        if self.fast is None or not self._written:
            return [trial_dict(t) for t in self.finished().values()]
        latest = {index: tid for tid, index in self.fast.finished_rows()}
        if any(tid not in self._written for tid in latest.values()):
            return [trial_dict(t) for t in self.finished().values()]
        return [_copy(self._written[tid]) for tid in latest.values()]

    def finished_trials(self) -> list[Trial]:
        """:meth:`finished_records` as :class:`caviar.trial.Trial` records."""
        return [Trial.from_record(r) for r in self.finished_records()]

    def finished_indices(self) -> set[int]:
        """Indices of the finished trials (one query on the fast path)."""
        if self.fast is None:
            return set(self.finished())
        return {index for _, index in self.fast.finished_rows()}

    # -- writing ---------------------------------------------------------------------
    def write(self, space: SearchSpace, records: list[Trial] | list[dict[str, Any]]) -> float:
        """Add one population's finished trials; returns the seconds it took."""
        start = time.perf_counter()
        dists = {d.path: distribution(d) for d in space.dimensions}
        trials = [frozen_trial(r, space, dists, self.objectives) for r in records]
        with self.locked():
            ids = self._add_all(trials)
        if ids is not None and self._caching:
            if len(self._written) + len(ids) > WRITTEN_CACHE:  # a long search: read at the end
                self._written.clear()
                self._caching = False
            else:
                self._written.update(
                    {tid: stored_form(t) for tid, t in zip(ids, trials, strict=True)}
                )
        return time.perf_counter() - start

    def _add_all(self, trials: list) -> list[int] | None:
        """Add ``trials``; returns their trial ids. The fast path: one transaction (all
        or none). Otherwise Optuna's public ``create_new_trial``, one per trial."""
        if self.fast is not None:
            return self.fast.insert(trials)
        return [self.storage.create_new_trial(self.study_id, template_trial=t) for t in trials]


def _copy(record: dict[str, Any]) -> dict[str, Any]:
    """A copy the caller owns (lists and dicts of the record are not shared)."""
    import copy

    return copy.deepcopy(record)


def _engine_kwargs(url: str) -> dict[str, Any] | None:
    """PostgreSQL: a bounded connect timeout (an unreachable server is one error line,
    not a hang) and pre-ping (a connection the server dropped is replaced)."""
    if url.startswith("postgresql"):
        return {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    return None


def _sqlite_wal(storage) -> None:
    """Every connection of an SQLite study uses write-ahead logging with
    ``synchronous=NORMAL``: a commit appends to the log without waiting for the disk
    (the log is synced at checkpoints), so a write costs milliseconds even on a busy
    disk. A commit survives the process being killed (``--resume`` after SIGKILL
    keeps it); after a power loss the last commits may be lost but the database
    stays intact (SQLite's WAL guarantees). Connections opened during Optuna's setup
    are closed so that every later one gets the settings."""
    from sqlalchemy import event

    engine = getattr(storage, "engine", None)
    if engine is None:
        return

    def on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    event.listen(engine, "connect", on_connect)
    engine.dispose()
