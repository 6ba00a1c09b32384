"""One trial record for every result: a finished member of ``caviar.train`` or trial of
``caviar.tune``, as Optuna's ``FrozenTrial`` is for a study.

A :class:`Trial` is frozen: ``number`` (the configuration's position in a train run, the
trial index of a search: its position in the seeded suggestion sequence), ``params``,
``value`` (the validation score at the best epoch, higher is better; NaN when there is
none), ``state`` (``complete``, ``early_stopped``, ``pruned``, ``diverged``, ``failed`` or
``converged``), ``best_epoch`` (0-based into ``history``; None when no epoch was ever best),
``epochs_run``, the other scores at the best epoch, ``history`` (per-epoch curves),
``user_attrs`` (everything else: round, structure, seed, folds, PBT steps, changes,
error, ...) and ``timings`` (:class:`Timings`: when it started and ended).

The same record is what :class:`caviar.api.TrainRun` and ``caviar.tuning.TuneResult``
hold, what ``Callback.on_trial_complete`` receives, what the study stores
(``caviar.tuning.storage_records``), what the leaderboard and the report read.

:meth:`Trial.record` is its flat storage layout (``index``, ``status``, ``val_score``,
... one key a field, the user attributes beside them); :meth:`Trial.from_record` reads it
back. For code written against that layout a trial also answers ``trial["val_score"]``,
``trial.get("cv_std")``, ``"round" in trial`` and ``trial.items()``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

#: every state a finished trial is in (``failed``: its configuration or executor failed)
STATES = ("complete", "early_stopped", "converged", "pruned", "diverged", "failed")
#: the states whose value counts (a pruned trial keeps its best epoch's score)
SCORED_STATES = ("complete", "early_stopped", "pruned", "converged")
#: the states of a finished, successful trial: Optuna's ``COMPLETE``. A member that
#: converged (a full-batch method's stopping rule) finished as surely as one that ran
#: every epoch or ran out of patience; only ``pruned`` (``PRUNED``), ``diverged`` and
#: ``failed`` (``FAIL``) are not.
COMPLETE_STATES = ("complete", "early_stopped", "converged")


def optuna_state(state: str) -> str:
    """The name of the Optuna ``TrialState`` a trial in ``state`` is stored as:
    ``COMPLETE`` for :data:`COMPLETE_STATES`, ``PRUNED`` for ``pruned``, else ``FAIL``
    (a COMPLETE one without a finite value is stored as ``FAIL`` by its writer)."""
    if state in COMPLETE_STATES:
        return "COMPLETE"
    return "PRUNED" if state == "pruned" else "FAIL"


@dataclass(frozen=True)
class Timings:
    """When a trial ran: ``started`` and ``ended`` are ``time.time()`` instants (None when
    unknown, e.g. a train member); ``seconds`` is the difference."""

    started: float | None = None
    ended: float | None = None

    @property
    def seconds(self) -> float:
        """``ended - started`` (NaN when either is unknown)."""
        if self.started is None or self.ended is None:
            return math.nan
        return float(self.ended) - float(self.started)


# record key -> attribute of Trial (the flat storage layout)
_FIELDS = {
    "index": "number",
    "params": "params",
    "val_score": "value",
    "status": "state",
    "best_epoch": "best_epoch",
    "epochs_run": "epochs_run",
    "val_loss": "val_loss",
    "train_score": "train_score",
    "train_loss": "train_loss",
    "history": "history",
}
_MISSING = object()


@dataclass(frozen=True)
class Trial:
    """A finished trial (or train member); see the module docstring.

    Examples
    --------
    >>> t = Trial(number=3, params={"optimizer.lr": 0.01}, value=0.9, state="complete")
    >>> t.number, t["val_score"], t.best_epoch is None
    (3, 0.9, True)
    """

    number: int
    params: Mapping[str, Any]
    value: float
    state: str
    best_epoch: int | None = None
    epochs_run: int = 0
    val_loss: float = math.nan
    train_score: float = math.nan
    train_loss: float = math.nan
    history: Mapping[str, list] = field(default_factory=dict, repr=False)
    user_attrs: Mapping[str, Any] = field(default_factory=dict, repr=False)
    timings: Timings = field(default_factory=Timings, repr=False)

    # -- names of the result objects before this record (MemberResult, trial dicts) -----
    @property
    def index(self) -> int:
        """The same as ``number`` (the ``trial`` column of the leaderboard)."""
        return self.number

    @property
    def val_score(self) -> float:
        """The same as ``value``: the validation score at the best epoch."""
        return self.value

    @property
    def status(self) -> str:
        """The same as ``state``."""
        return self.state

    @property
    def scored(self) -> bool:
        """Whether the trial has a finite value from a state that counts."""
        return self.state in SCORED_STATES and _finite(self.value)

    # -- the flat storage layout ----------------------------------------------------------
    def record(self) -> dict[str, Any]:
        """The trial as one flat dict (the layout ``caviar.tuning`` stores)."""
        out: dict[str, Any] = dict(self.user_attrs)
        for key, attr in _FIELDS.items():
            out[key] = getattr(self, attr)
        out["started"], out["ended"] = self.timings.started, self.timings.ended
        return out

    @classmethod
    def from_record(cls, r: Mapping[str, Any] | Trial) -> Trial:
        """The trial of a flat record (:meth:`record`'s layout); unknown keys become
        user attributes."""
        if isinstance(r, Trial):
            return r
        value = r.get("val_score")
        epoch = r.get("best_epoch")
        known = {**_FIELDS, "started": "", "ended": ""}
        return cls(
            number=int(r["index"]),
            params=dict(r.get("params") or {}),
            value=float(value) if isinstance(value, (int, float)) else math.nan,
            state=str(r.get("status", "complete")),
            best_epoch=int(epoch) if isinstance(epoch, (int, float)) else None,
            epochs_run=int(r.get("epochs_run") or 0),
            val_loss=_float(r.get("val_loss")),
            train_score=_float(r.get("train_score")),
            train_loss=_float(r.get("train_loss")),
            history=dict(r.get("history") or {}),
            user_attrs={k: v for k, v in r.items() if k not in known},
            timings=Timings(r.get("started"), r.get("ended")),
        )

    def with_attrs(self, **attrs: Any) -> Trial:
        """A copy with these user attributes added (the record stays frozen)."""
        return replace(self, user_attrs={**self.user_attrs, **attrs})

    # -- read access by record key --------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """The record's ``key`` (:meth:`record`'s layout), ``default`` when absent."""
        if key in _FIELDS:
            return getattr(self, _FIELDS[key])
        if key == "started":
            return self.timings.started
        if key == "ended":
            return self.timings.ended
        return self.user_attrs.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in _FIELDS or key in ("started", "ended") or key in self.user_attrs

    def keys(self) -> Iterator[str]:
        return iter(self.record())

    def items(self):
        """The record's ``(key, value)`` pairs (:meth:`record`)."""
        return self.record().items()


def _float(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) else math.nan


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def rank_key(t: Trial) -> tuple[float, float, int]:
    """Sort key, best first: higher validation score, then lower loss, then number."""
    s = t.value if _finite(t.value) else -math.inf
    loss = t.val_loss if _finite(t.val_loss) else math.inf
    return (-s, loss, t.number)


__all__ = [
    "COMPLETE_STATES",
    "SCORED_STATES",
    "STATES",
    "Timings",
    "Trial",
    "optuna_state",
    "rank_key",
]
