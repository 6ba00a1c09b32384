"""Trial storage in an Optuna study: the journal that makes ``--resume`` possible.

Every finished trial is one Optuna trial with:

* ``params``: the sampled values (choices stored as their JSON text), with
  distributions matching the space (log-uniform as ``FloatDistribution(log=True)``);
* ``value``: the validation score (higher is better) for complete and pruned
  trials; state ``COMPLETE``, ``PRUNED`` or ``FAIL`` (diverged or failed);
* no ``intermediate_values``: the per-epoch curves are inside ``record``
  (one row instead of one per epoch: measured 2x cheaper to write);
* ``user_attrs``: ``index`` (the trial identity: position in the seeded
  suggestion sequence), ``status``, and ``record``: one JSON object with the
  round, seed, structure, best epoch, metrics and per-epoch curves (one
  attribute, not one per field, keeps the writes few).

A population's trials are written together after it finished (one short burst
of writes, so storage costs little). Before a population runs, its indices are
*claimed* (a study system attribute ``claim:<index>`` naming host and pid)
under a file lock beside the SQLite file, so two processes on one study never
run the same configuration; ``--resume`` ignores claims of processes that are
no longer alive (a crash or ``kill -9``) and runs those configurations again.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from caviar.errors import CaviarError
from caviar.serialize import json_safe
from caviar.tune.space import Dimension, SearchSpace

OWNER = f"{socket.gethostname()}:{os.getpid()}"


def sqlite_path(url: str) -> Path | None:
    """The file behind an ``sqlite:///path`` URL (None for other back ends)."""
    if url.startswith("sqlite:///"):
        return Path(url.removeprefix("sqlite:///"))
    return None


def _distribution(d: Dimension):
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    if d.categorical:
        return CategoricalDistribution([json.dumps(c) for c in d.choices])
    if d.integer:
        return IntDistribution(int(d.low), int(d.high), log=d.kind == "int_log_uniform")
    return FloatDistribution(d.low, d.high, log=d.kind == "log_uniform")


def encode_params(space: SearchSpace, params: dict[str, Any]) -> dict[str, Any]:
    return {
        d.path: json.dumps(params[d.path]) if d.categorical else params[d.path]
        for d in space.dimensions
    }


def decode_params(space: SearchSpace, stored: dict[str, Any]) -> dict[str, Any]:
    return {
        d.path: json.loads(stored[d.path]) if d.categorical else stored[d.path]
        for d in space.dimensions
    }


class TrialStore:
    """One Optuna study holding the trials of one tuning run."""

    def __init__(self, url: str, study_name: str, *, create: bool) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.url = url
        self.study_name = study_name
        path = sqlite_path(url)
        self.lock_path = path.with_name(path.name + ".lock") if path is not None else None
        try:
            with self.locked():
                storage = optuna.storages.RDBStorage(url, engine_kwargs=_engine_kwargs(url))
                if create:
                    self.study = optuna.create_study(
                        storage=storage,
                        study_name=study_name,
                        direction="maximize",
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
        self.storage = storage  # the RDBStorage itself (the study wraps it in a cache)
        self.study_id = self.study._study_id

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

    # -- reading ---------------------------------------------------------------------
    def finished(self) -> dict[int, Any]:
        """Finished trials by index (the latest if an index somehow repeats)."""
        out = {}
        for t in self.study.get_trials(deepcopy=False):
            if t.state.is_finished() and "index" in t.user_attrs:
                out[int(t.user_attrs["index"])] = t
        return out

    def set_meta(self, key: str, value: Any) -> None:
        self.storage.set_study_user_attr(self.study_id, key, json_safe(value))

    def meta(self) -> dict[str, Any]:
        return dict(self.storage.get_study_user_attrs(self.study_id))

    # -- claims ----------------------------------------------------------------------
    def claim(self, indices: list[int]) -> list[int]:
        """Claim the indices that are neither finished nor claimed by a live process."""
        with self.locked():
            done = set(self.finished())
            attrs = self.storage.get_study_system_attrs(self.study_id)
            mine = []
            for i in indices:
                if i in done:
                    continue
                owner = attrs.get(f"claim:{i}")
                if owner is not None and owner != OWNER and _alive(owner):
                    continue
                mine.append(i)
            self._set_claims(mine, attrs)
            return mine

    def _set_claims(self, indices: list[int], attrs: dict) -> None:
        """Write the claims of ``indices`` in one transaction (RDB storage) or one by one."""
        try:
            from optuna.storages._rdb import models
            from optuna.storages._rdb.storage import _create_scoped_session

            session_factory = self.storage.scoped_session
        except (ImportError, AttributeError):
            for i in indices:
                self.storage.set_study_system_attr(self.study_id, f"claim:{i}", OWNER)
            return
        with _create_scoped_session(session_factory) as session:
            study = models.StudyModel.find_or_raise_by_id(self.study_id, session)
            for i in indices:
                key = f"claim:{i}"
                row = models.StudySystemAttributeModel.find_by_study_and_key(study, key, session)
                if row is None:
                    session.add(
                        models.StudySystemAttributeModel(
                            study_id=self.study_id, key=key, value_json=json.dumps(OWNER)
                        )
                    )
                else:
                    row.value_json = json.dumps(OWNER)

    def pending_elsewhere(self, indices: list[int]) -> list[int]:
        """Indices claimed by another live process and not finished yet."""
        done = set(self.finished())
        attrs = self.storage.get_study_system_attrs(self.study_id)
        return [
            i
            for i in indices
            if i not in done
            and attrs.get(f"claim:{i}") not in (None, OWNER)
            and _alive(attrs[f"claim:{i}"])
        ]

    # -- writing ---------------------------------------------------------------------
    def write(self, space: SearchSpace, records: list[dict[str, Any]]) -> float:
        """Add one population's finished trials; returns the seconds it took."""
        import optuna
        from optuna.trial import TrialState

        start = time.perf_counter()
        dists = {d.path: _distribution(d) for d in space.dimensions}
        states = {
            "complete": TrialState.COMPLETE,
            "early_stopped": TrialState.COMPLETE,
            "pruned": TrialState.PRUNED,
        }
        trials = []
        for r in records:
            state = states.get(r["status"], TrialState.FAIL)
            value = r.get("val_score")
            ok = value is not None and value == value and state != TrialState.FAIL
            if state == TrialState.COMPLETE and not ok:
                state = TrialState.FAIL
            trials.append(
                optuna.trial.create_trial(
                    state=state,
                    value=float(value) if ok else None,
                    params=encode_params(space, r["params"]),
                    distributions=dists,
                    user_attrs={
                        "index": int(r["index"]),
                        "status": r["status"],
                        "record": json_safe({k: v for k, v in r.items() if k != "params"}),
                    },
                )
            )
        with self.locked():
            self._add_all(trials)
        return time.perf_counter() - start

    def _add_all(self, trials: list) -> None:
        """Add ``trials`` in one transaction (all or none) when the back end is Optuna's
        RDB storage: the rows of every trial (trial, value, params, user attributes) are
        added to one session and flushed once, numbered after the study's last trial.
        Other back ends: one by one with ``study.add_trials``."""
        try:
            from optuna.distributions import distribution_to_json
            from optuna.storages._rdb import models
            from optuna.storages._rdb.storage import _create_scoped_session
            from sqlalchemy import func

            session_factory = self.storage.scoped_session
        except (ImportError, AttributeError):
            self.study.add_trials(trials)
            return
        value_model = models.TrialValueModel
        with _create_scoped_session(session_factory) as session:
            models.StudyModel.find_or_raise_by_id(self.study_id, session, for_update=True)
            count = (
                session.query(func.count(models.TrialModel.trial_id))
                .filter(models.TrialModel.study_id == self.study_id)
                .scalar()
            )
            for k, t in enumerate(trials):
                row = models.TrialModel(
                    study_id=self.study_id,
                    number=count + k,
                    state=t.state,
                    datetime_start=t.datetime_start,
                    datetime_complete=t.datetime_complete,
                )
                if t.value is not None:
                    stored, kind = value_model.value_to_stored_repr(t.value)
                    row.values = [value_model(objective=0, value=stored, value_type=kind)]
                row.params = [
                    models.TrialParamModel(
                        param_name=name,
                        param_value=t.distributions[name].to_internal_repr(v),
                        distribution_json=distribution_to_json(t.distributions[name]),
                    )
                    for name, v in t.params.items()
                ]
                row.user_attributes = [
                    models.TrialUserAttributeModel(key=key, value_json=json.dumps(v))
                    for key, v in t.user_attrs.items()
                ]
                session.add(row)


def _engine_kwargs(url: str) -> dict[str, Any] | None:
    """PostgreSQL: a bounded connect timeout (an unreachable server is one error line,
    not a hang) and pre-ping (a connection the server dropped is replaced)."""
    if url.startswith("postgresql"):
        return {"connect_args": {"connect_timeout": 10}, "pool_pre_ping": True}
    return None


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
