"""The fast path to Optuna's RDB storage: a population's trials in one transaction.

Optuna's public ``study.add_trials`` writes a trial in about 60 queries (one per
intermediate value, parameter and attribute, each looked up first): measured 35 ms
a trial with 20 epochs, over a second for a population of 32, more than the
population took to train. Here the rows of every trial of a population (trial,
value, intermediate values, params, user attributes) go in one multi-row insert per
table, numbered after the study's last trial, in one transaction that first locks
the study's row (as Optuna's own trial creation does): about 1 ms a trial. Claims
and finished indices are single queries too.

These are Optuna's private tables (``optuna.storages._rdb.models``), so the path is
guarded: it is used only with the Optuna releases it is tested against
(:data:`TESTED`) on a database at the schema revision they create
(:data:`SCHEMA`), with every column it writes present; anywhere else
(:func:`fast_sql` returns None) the store uses Optuna's public API. The tests
check that both paths store the same trials.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

#: Optuna releases (major.minor) whose RDB tables and datetime convention (naive UTC
#: columns) this module is tested against, with the schema revision they create
TESTED = ("5.0",)
SCHEMA = "v3.2.0.a"
COLUMNS = {
    "trials": {"trial_id", "number", "study_id", "state", "datetime_start", "datetime_complete"},
    "trial_values": {"trial_id", "objective", "value", "value_type"},
    "trial_intermediate_values": {
        "trial_id",
        "step",
        "intermediate_value",
        "intermediate_value_type",
    },
    "trial_params": {"trial_id", "param_name", "param_value", "distribution_json"},
    "trial_user_attributes": {"trial_id", "key", "value_json"},
    "study_system_attributes": {"study_id", "key", "value_json"},
}


def fast_sql(storage, study_id: int) -> FastSQL | None:
    """The fast path for ``storage`` (an ``optuna.storages.RDBStorage``), or None when
    the Optuna release, the database's schema revision or a table is not the tested one."""
    import optuna

    if ".".join(optuna.__version__.split(".")[:2]) not in TESTED:
        return None
    if not hasattr(storage, "scoped_session") or not hasattr(storage, "get_current_version"):
        return None
    try:
        from optuna.storages._rdb import models
        from optuna.storages._rdb.storage import _create_scoped_session

        if storage.get_current_version() != SCHEMA:
            return None
        tables = models.BaseModel.metadata.tables
        if any(not cols <= set(tables[name].columns.keys()) for name, cols in COLUMNS.items()):
            return None
    except Exception:  # noqa: BLE001 - anything unexpected: the public API instead
        return None
    return FastSQL(storage, study_id, models, _create_scoped_session)


class FastSQL:
    """Single-query reads and one-transaction writes on one study (module docstring)."""

    def __init__(self, storage, study_id: int, models, scoped) -> None:
        self.storage, self.study_id, self.models, self._scoped = storage, study_id, models, scoped

    @contextlib.contextmanager
    def session(self, session=None) -> Iterator[Any]:
        """``session`` itself, or a new one (committed on exit, rolled back on error)."""
        if session is not None:
            yield session
            return
        with self._scoped(self.storage.scoped_session) as new:
            yield new

    def lock_study(self, session) -> None:
        """Lock the study's row until ``session`` commits (``SELECT ... FOR UPDATE``)."""
        self.models.StudyModel.find_or_raise_by_id(self.study_id, session, for_update=True)

    def finished_rows(self, session=None) -> list[tuple[int, int]]:
        """``(trial_id, index)`` of the study's finished trials in trial-number order:
        one query joining the trials with their ``index`` user attribute."""
        from optuna.trial import TrialState

        trial, attr = self.models.TrialModel, self.models.TrialUserAttributeModel
        states = [s for s in TrialState if s.is_finished()]
        with self.session(session) as s:
            rows = (
                s.query(trial.trial_id, attr.value_json)
                .join(attr, trial.trial_id == attr.trial_id)
                .filter(
                    trial.study_id == self.study_id, trial.state.in_(states), attr.key == "index"
                )
                .order_by(trial.number)
                .all()
            )
        return [(tid, int(json.loads(v))) for tid, v in rows]

    def claims(self, session=None) -> dict[str, Any]:
        """The study's ``claim:<index>`` system attributes (key -> owner)."""
        model = self.models.StudySystemAttributeModel
        with self.session(session) as s:
            rows = (
                s.query(model.key, model.value_json)
                .filter(model.study_id == self.study_id, model.key.like("claim:%"))
                .all()
            )
        return {k: json.loads(v) for k, v in rows}

    def set_claims(self, keys: list[str], attrs: dict, owner: str, session=None) -> None:
        """Set the system attributes ``keys`` to ``owner`` in one transaction; ``attrs``
        holds those already stored (read in the same transaction or under the lock)."""
        from sqlalchemy import insert, update

        table = self.models.StudySystemAttributeModel.__table__
        value = json.dumps(owner)
        new = [k for k in keys if k not in attrs]
        old = [k for k in keys if k in attrs and attrs[k] != owner]
        with self.session(session) as s:
            if new:
                s.execute(
                    insert(table),
                    [{"study_id": self.study_id, "key": k, "value_json": value} for k in new],
                )
            if old:
                s.execute(
                    update(table)
                    .where(table.c.study_id == self.study_id, table.c.key.in_(old))
                    .values(value_json=value)
                )

    def insert(self, trials: list) -> list[int]:
        """Add ``trials`` (FrozenTrials) in one transaction, all or none: one multi-row
        insert per table, numbered after the study's last trial. Returns their ids."""
        from optuna.distributions import distribution_to_json
        from sqlalchemy import func, insert, select

        m = self.models
        trial_model, value_model = m.TrialModel, m.TrialValueModel
        step_model = m.TrialIntermediateValueModel
        with self.session() as session:
            self.lock_study(session)
            count = session.execute(
                select(func.count(trial_model.trial_id)).where(
                    trial_model.study_id == self.study_id
                )
            ).scalar_one()
            session.execute(
                insert(trial_model.__table__),
                [
                    {
                        "study_id": self.study_id,
                        "number": count + k,
                        "state": t.state,
                        "datetime_start": naive_utc(t.datetime_start),
                        "datetime_complete": naive_utc(t.datetime_complete),
                    }
                    for k, t in enumerate(trials)
                ],
            )
            ids = dict(
                session.execute(
                    select(trial_model.number, trial_model.trial_id).where(
                        trial_model.study_id == self.study_id, trial_model.number >= count
                    )
                ).all()
            )
            tids = [ids[count + k] for k in range(len(trials))]
            rows: dict[Any, list[dict]] = {
                value_model: [],
                step_model: [],
                m.TrialParamModel: [],
                m.TrialUserAttributeModel: [],
            }
            for tid, t in zip(tids, trials, strict=True):
                for objective, v in enumerate(t.values or []):  # one row per objective
                    stored, kind = value_model.value_to_stored_repr(v)
                    rows[value_model].append(
                        {
                            "trial_id": tid,
                            "objective": objective,
                            "value": stored,
                            "value_type": kind,
                        }
                    )
                for step, v in t.intermediate_values.items():
                    stored, kind = step_model.intermediate_value_to_stored_repr(v)
                    rows[step_model].append(
                        {
                            "trial_id": tid,
                            "step": step,
                            "intermediate_value": stored,
                            "intermediate_value_type": kind,
                        }
                    )
                rows[m.TrialParamModel] += [
                    {
                        "trial_id": tid,
                        "param_name": name,
                        "param_value": t.distributions[name].to_internal_repr(v),
                        "distribution_json": distribution_to_json(t.distributions[name]),
                    }
                    for name, v in t.params.items()
                ]
                rows[m.TrialUserAttributeModel] += [
                    {"trial_id": tid, "key": key, "value_json": json.dumps(v)}
                    for key, v in t.user_attrs.items()
                ]
            for model, table_rows in rows.items():
                if table_rows:
                    session.execute(insert(model.__table__), table_rows)
        return tids


def naive_utc(value):
    """A datetime as Optuna 5's RDB storage keeps it (naive UTC; a naive ``value`` is
    local time, as Optuna's FrozenTrials hold it); None stays None."""
    import datetime

    if value is None:
        return None
    return value.astimezone(datetime.UTC).replace(tzinfo=None)
