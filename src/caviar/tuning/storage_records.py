"""A finished trial's record as an Optuna trial, laid out the way Optuna's tools read it.

A caviar record (``caviar.tuning.runner._trial_record``) becomes one
:class:`optuna.trial.FrozenTrial`:

* ``state``: ``COMPLETE`` for ``complete``, ``early_stopped`` and ``converged``
  members (a full-batch method's stopping rule met; the three stay apart in the
  ``status`` user attribute, which says why the member stopped), ``PRUNED`` for pruned
  ones, ``FAIL`` for diverged and failed ones (and for a complete one without a finite
  score), :func:`caviar.trial.optuna_state`;
* ``value``: the validation score (higher is better) at the member's best epoch, the
  weights it ends with (``caviar`` restores the best epoch). A pruned trial keeps it
  too, as Optuna's own pruned trials keep a value (their last report). A search with
  several objectives (``search.objectives``) stores ``values`` instead: each objective
  in its own units, in objective order (``caviar.tuning.objective_values``), the study
  created with their ``directions``; a complete trial missing one is ``FAIL``;
* ``intermediate_values``: the validation score of every epoch run, step = epoch
  (1-based, like ``history.csv``), so ``plot_intermediate_values``, the dashboard's
  curves and Optuna's pruners see the curve;
* ``datetime_start`` / ``datetime_complete``: when its population started (members
  start together) and when the member stopped (end of its last epoch), naive local
  time as Optuna stores it, so durations and ``plot_timeline`` are true;
* ``params`` with distributions matching the space (choices as their JSON text,
  log-uniform as ``FloatDistribution(log=True)``);
* ``user_attrs``: ``index`` (the trial identity: position in the seeded suggestion
  sequence), ``status``, every other field of the record as its own attribute
  (round, seed, structure, best epoch, scores, PBT steps, ...) and the other
  per-epoch curves as ``curve:train_loss``, ``curve:train_score``, ``curve:val_loss``
  (lists, NaN as null).

:func:`trial_dict` reads a trial back into the record the search uses (also the
one-attribute ``record`` layout of studies written by caviar before this one).
"""

from __future__ import annotations

import datetime
import json
import math
import time
from typing import Any, TypeGuard

from caviar.serialize import json_safe
from caviar.trial import Trial, optuna_state
from caviar.tuning.space import Dimension, SearchSpace

#: record fields that are not user attributes (params, curves, times)
NOT_ATTRS = ("params", "history", "started", "ended")
CURVE = "curve:"


def distribution(d: Dimension):
    """The Optuna distribution of a search dimension."""
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


def local_datetime(seconds: float | None) -> datetime.datetime:
    """A ``time.time()`` instant as Optuna's storages keep datetimes (naive local time)."""
    return datetime.datetime.fromtimestamp(seconds if seconds else time.time())


def frozen_trial(
    r: Trial | dict[str, Any],
    space: SearchSpace,
    dists: dict[str, Any],
    objectives: list[str] | None = None,
):
    """The Optuna trial of one record (see the module docstring); ``objectives``: the
    names of a multi-objective study's values, in order."""
    import optuna
    from optuna.trial import TrialState

    if isinstance(r, Trial):
        r = r.record()

    state = TrialState[optuna_state(r["status"])]
    values = _values(r, objectives)
    ok = values is not None and all(math.isfinite(v) for v in values)
    ok = ok and state != TrialState.FAIL
    if state == TrialState.COMPLETE and not ok:
        state = TrialState.FAIL
    history = r.get("history") or {}
    curve = history.get("val_score") or []
    trial = optuna.trial.create_trial(
        state=state,
        values=values if ok else None,
        params=encode_params(space, r["params"]),
        distributions=dists,
        user_attrs=user_attrs(r),
        intermediate_values={
            e: float(v) if v is not None else math.nan for e, v in enumerate(curve, start=1)
        },
    )
    trial.datetime_start = local_datetime(r.get("started"))
    trial.datetime_complete = max(local_datetime(r.get("ended")), trial.datetime_start)
    return trial


def _values(r: dict[str, Any], objectives: list[str] | None) -> list[float] | None:
    """The trial's study values: its validation score, or each objective's value."""
    if objectives:
        table = r.get("objectives") or {}
        got = [table.get(n) for n in objectives]
        numbers = [float(v) for v in got if _number(v)]
        return numbers if len(numbers) == len(got) else None
    value = r.get("val_score")
    return [float(value)] if _number(value) else None


def _number(v: Any) -> TypeGuard[float]:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def study_score(t) -> float:
    """A stored Optuna trial's caviar score (higher is better; NaN when it has none): its
    value, or in a multi-objective study its ``val_score`` attribute (the first
    objective as caviar ranks it; ``t.value`` is not defined there)."""
    values = t.values
    if values is not None and len(values) == 1:
        return float(values[0])
    score = t.user_attrs.get("val_score") if values is not None else None
    return float(score) if _number(score) else math.nan


def study_values(t) -> tuple[float, ...]:
    """A stored Optuna trial's objective values (NaN each when it has none)."""
    n = len(t.user_attrs.get("objectives") or {}) or 1
    return tuple(float(v) for v in t.values) if t.values is not None else (math.nan,) * n


def user_attrs(r: dict[str, Any]) -> dict[str, Any]:
    """The user attributes of a record: ``index``, ``status``, its other fields one
    attribute each, and the curves other than the validation score (module docstring)."""
    out = {"index": int(r["index"]), "status": r["status"]}
    out.update({k: json_safe(v) for k, v in r.items() if k not in NOT_ATTRS and k not in out})
    for name, values in (r.get("history") or {}).items():
        if name != "val_score":
            out[CURVE + name] = json_safe(list(values))
    return out


def trial_dict(t) -> dict[str, Any]:
    """A finished trial as the search sees it: its record plus ``params`` (as Optuna
    returns them). The validation curve comes from the intermediate values (null where
    it was NaN, as the other curves are stored)."""
    attrs = t.user_attrs
    if "record" in attrs:  # a study written by an earlier caviar: one ``record`` attribute
        d = dict(attrs["record"])
        d["params"] = dict(t.params)
        return d
    d = {k: v for k, v in attrs.items() if not k.startswith(CURVE)}
    history = {k.removeprefix(CURVE): list(v) for k, v in attrs.items() if k.startswith(CURVE)}
    if t.intermediate_values or history:
        steps = sorted(t.intermediate_values)
        history["val_score"] = [_nan_to_none(t.intermediate_values[s]) for s in steps]
    d["history"] = history
    d["params"] = dict(t.params)
    # when it ran (caviar.trial.Timings): the trial's start and end, as the study keeps them
    for key, when in (("started", t.datetime_start), ("ended", t.datetime_complete)):
        if when is not None:
            d[key] = when.timestamp()
    return d


def stored_trial(t) -> Trial:
    """A finished Optuna trial as caviar's :class:`~caviar.trial.Trial` (its record,
    :func:`trial_dict`)."""
    return Trial.from_record(trial_dict(t))


def stored_form(trial) -> dict[str, Any]:
    """What :func:`trial_dict` returns for ``trial`` once it is stored, without reading it
    back: the JSON round trip of the attributes and Optuna's internal-repr round trip of
    the parameters."""
    copy = type("Stored", (), {})()
    copy.user_attrs = json.loads(json.dumps(trial.user_attrs))
    copy.intermediate_values = trial.intermediate_values
    copy.datetime_start, copy.datetime_complete = trial.datetime_start, trial.datetime_complete
    copy.params = {
        name: trial.distributions[name].to_external_repr(
            trial.distributions[name].to_internal_repr(v)
        )
        for name, v in trial.params.items()
    }
    return trial_dict(copy)


def _nan_to_none(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None
