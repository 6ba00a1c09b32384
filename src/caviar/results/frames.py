"""Trial records as pandas frames, laid out as Optuna's ``Study.trials_dataframe()``.

:func:`trials_frame`: one row per trial (train: per member), ordered by ``number``:
``number``, ``value`` (the validation score the leaderboard ranks), ``state`` (with
several objectives ``values_<objective>`` and ``front``, ``caviar.tuning.pareto``), the
other scores at the best epoch, ``best_epoch`` (1-based, as ``history.csv``),
``epochs_run``, ``seconds`` (:class:`caviar.trial.Timings`), then one
``params_<name>`` column per hyperparameter (list-valued choices as lists).
:func:`history_frame`: the per-epoch curves, one row per (trial, epoch).
:func:`train_leaderboard` and :func:`train_history`: a train run's ``leaderboard.csv``
and ``history.csv`` tables (written by :mod:`caviar.results.outputs`, drawn by
:mod:`caviar.plots`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from caviar.training.result import display_epoch
from caviar.trial import Trial

SCORES = ("val_loss", "train_score", "train_loss")


def decode_choice(value: Any) -> Any:
    """A categorical value as the study stores it (JSON text) back as the value it was
    (``"[64, 32]"`` -> ``[64, 32]``); anything else unchanged."""
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def shown_params(trial: Trial, categorical: Iterable[str] = ()) -> dict[str, Any]:
    """A trial's parameters for people: the ``categorical`` ones JSON-decoded."""
    cats = set(categorical)
    return {k: decode_choice(v) if k in cats else v for k, v in trial.params.items()}


def trials_frame(trials: Iterable[Trial], categorical: Iterable[str] = ()) -> pd.DataFrame:
    """One row per trial (module docstring); ``categorical``: the parameters stored as
    JSON text."""
    cats = list(categorical)
    rows = []
    for t in sorted(trials, key=lambda t: t.number):
        row: dict[str, Any] = {"number": t.number, "value": t.value, "state": t.state}
        # several objectives (search.objectives): values_<name> as Optuna names them
        row.update({f"values_{k}": v for k, v in (t.get("objectives") or {}).items()})
        if "front" in t:
            row["front"] = t.get("front")
        row.update({k: getattr(t, k) for k in SCORES})
        row["best_epoch"] = display_epoch(t.best_epoch)
        row["epochs_run"] = t.epochs_run
        row["seconds"] = t.timings.seconds
        row.update({f"params_{k}": v for k, v in shown_params(t, cats).items()})
        rows.append(row)
    columns = ["number", "value", "state", *SCORES, "best_epoch", "epochs_run", "seconds"]
    return pd.DataFrame(rows, columns=None if rows else columns)


def history_frame(trials: Iterable[Trial], id_name: str = "trial") -> pd.DataFrame:
    """Per-epoch curves: one row per (trial, epoch), a column per recorded curve
    (``train_loss``, ``val_loss``, ``train_score``, ``val_score``, ...); epochs 1-based."""
    parts = []
    for t in sorted(trials, key=lambda t: t.number):
        curves: Mapping[str, list] = t.history or {}
        n = max((len(v or []) for v in curves.values()), default=0)
        if not n:
            continue
        frame = pd.DataFrame(
            {k: _padded(v, n) for k, v in curves.items()}, index=range(n), dtype=float
        )
        frame.insert(0, "epoch", range(1, n + 1))
        frame.insert(0, id_name, t.number)
        parts.append(frame)
    if not parts:
        return pd.DataFrame(columns=[id_name, "epoch"])
    return pd.concat(parts, ignore_index=True)


def _padded(values: list | None, n: int) -> list[float]:
    out = [float("nan") if v is None else float(v) for v in (values or [])]
    return out + [float("nan")] * (n - len(out))


def train_leaderboard(run) -> pd.DataFrame:
    """A train run's members ranked best first: ``rank``, ``member``, the varied
    fields, then each member's summary."""
    params = {t.number: dict(t.params) for t in run.trials}
    rows = []
    for rank, m in enumerate(run.members, start=1):
        rows.append(
            {
                "rank": rank,
                "member": m.index,
                **params.get(m.index, {}),
                **{k: v for k, v in m.summary().items() if k != "member"},
            }
        )
    return pd.DataFrame(rows)


def train_history(run) -> pd.DataFrame:
    """``history.csv``: every member's every epoch (``member``, ``epoch`` 1-based, curves)."""
    parts = []
    for m in run.members:
        frame = pd.DataFrame(m.history)
        frame.insert(0, "epoch", range(1, len(frame) + 1))
        frame.insert(0, "member", m.index)
        parts.append(frame)
    return pd.concat(parts, ignore_index=True).sort_values(["member", "epoch"])


__all__ = [
    "decode_choice",
    "history_frame",
    "shown_params",
    "train_history",
    "train_leaderboard",
    "trials_frame",
]
