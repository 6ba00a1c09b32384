"""The callbacks of :func:`caviar.tune` and panda mode, seen from the search loop.

``caviar.tune(callbacks=[...])`` takes one list of three kinds, told apart per item and
each made a hook of the one protocol both trainers call (:mod:`caviar.training.hooks`):

* :class:`caviar.training.hooks.Hook` objects, as they are: the same object works with
  :func:`caviar.train` (``state.kind`` says which; ``state.members`` are trial indices
  here, ``state.study`` and ``state.frozen`` the study and the Optuna trial in
  ``on_trial_complete``);
* :class:`caviar.training.callbacks.Callback` objects (Keras's hook names, through
  its ``KerasAdapter``):
  ``on_epoch_end(epoch, logs)`` after each epoch of a population (``logs.members``:
  the trial indices of its rows; ``logs.stop(trials)`` stops them: they end ``pruned``
  and are stored as Optuna ``PRUNED`` trials), ``on_population_end(logs)`` once a
  population finished (each trial's numbers at its best epoch) and
  ``on_trial_complete(trial)`` with caviar's :class:`~caviar.trial.Trial` once it is
  in the study (as it reads back: ``number`` the trial index, ``value`` its score);
* plain functions ``fn(study, trial)``, Optuna's ``callbacks=`` (through
  :class:`~caviar.tuning.trial_callbacks.OptunaAdapter`).

With ``search.cv = k`` a trial trains as ``k`` rows (its folds): ``logs.members``
names each fold's trial (``[0, 0, 0, 1, 1, 1, ...]``) and stopping a trial stops its
folds. For each stored trial the callbacks are called in the list's order. Populations that
train side by side (threads) call the hooks one at a time (one lock). ``on_train_begin``
and ``on_train_end`` frame the search. With the Ray executor the epochs run in other
processes: an ``on_epoch_end`` callback (or any hook called during an epoch) is refused
there (``on_population_end`` and ``on_trial_complete`` run here).

:class:`TuneHooks` also holds panda mode's per-population controls
(:mod:`caviar.tuning.live_tune`) and writes the trial lines ``caviar watch`` follows.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from caviar.errors import CaviarError
from caviar.live_dir import append_progress
from caviar.training.callbacks import Callback, KerasAdapter
from caviar.training.cross_validation import fold_rows
from caviar.training.hooks import (
    EPOCH_HOOKS,
    Hook,
    HookState,
    notify,
    notify_trial,
    population_hooks,
)
from caviar.trial import Trial
from caviar.tuning.live_tune import TrialControl
from caviar.tuning.storage_records import stored_trial
from caviar.tuning.trial_callbacks import OptunaAdapter, stored_trials


def as_hook(callback: Hook | Callback | Callable) -> Hook:
    """One item of ``callbacks`` as a hook: a Hook as it is, a Keras-style Callback or an
    Optuna-style function through its adapter."""
    if isinstance(callback, Hook):
        return callback
    return KerasAdapter(callback) if isinstance(callback, Callback) else OptunaAdapter(callback)


def check_callbacks(callbacks: Sequence[Any]) -> list:
    """The list as given, each item a :class:`~caviar.training.hooks.Hook`, a
    :class:`Callback` or a callable (else CaviarError)."""
    single = (str, bytes, dict, Callback, Hook)
    if isinstance(callbacks, single) or not isinstance(callbacks, Sequence):
        raise CaviarError(f"callbacks must be a list, got {type(callbacks).__name__}")
    for cb in callbacks:
        if not isinstance(cb, (Callback, Hook)) and not callable(cb):
            raise CaviarError(
                f"callbacks: {type(cb).__name__} is neither a caviar.training.callbacks."
                "Callback, a caviar.training.hooks.Hook nor a function fn(study, trial)"
            )
    return list(callbacks)


class TuneHooks:
    """What the search loop calls: per-population trainer callbacks, each finished
    population, each recorded batch of trials (module docstring)."""

    def __init__(
        self,
        callbacks: Sequence[Hook | Callback | Callable] = (),
        *,
        live_dir: str | Path | None = None,
        executor: str = "local",
        folds: int = 1,
    ) -> None:
        self.callbacks = check_callbacks(callbacks)
        self.folds = folds  # search.cv = k: k rows (folds) per trial, configuration-major
        self.hooks = [as_hook(cb) for cb in self.callbacks]
        self.remote = executor != "local"
        if self.remote and any(h.listens(n) for h in self.hooks for n in EPOCH_HOOKS):
            raise CaviarError(
                f"on_epoch_end callbacks need the local executor (the {executor} executor "
                "trains populations in other processes; so do on_batches_end and "
                "on_validation_end)"
            )
        self.live = Path(live_dir) if live_dir is not None else None
        self.lock = threading.Lock()
        self._populations: dict[tuple[int, ...], tuple[int, TrialControl | None]] = {}
        self._next = 0
        if self.live is not None:
            with contextlib.suppress(OSError):  # append_progress warns if it is unusable
                self.live.mkdir(parents=True, exist_ok=True)
            start = {"kind": "tune", "executor": executor, "pid": os.getpid()}
            append_progress(self.live, {"start": start})

    @property
    def reads_study(self) -> bool:
        """Whether a callback reads stored trials (the study is then written at once)."""
        return any(h.listens("on_trial_complete") for h in self.hooks)

    def begin(self) -> None:
        """The search starts: every ``on_train_begin``."""
        notify(self.hooks, "on_train_begin", HookState("tune"))

    def population_callbacks(self, indices: list[int], round_: int) -> list:
        """The trainer callbacks of a population of trials ``indices`` (first in its list)."""
        number = self._next
        self._next += 1
        out: list = []
        control = None
        rows = fold_rows(indices, self.folds)  # the trial of each row
        if self.live is not None and not self.remote:
            control = TrialControl(self.live, rows, number, round_)
            out.append(control)
        if not self.remote:
            out += population_hooks(self.hooks, number, rows, "tune", self.lock)
        self._populations[tuple(indices)] = (number, control)
        return out

    def population_end(self, indices: list[int], records, rows: list[Trial]) -> list[Trial]:
        """A population finished (``records``: its MemberRecords, None when it was lost):
        its trials' changes go into their records (the returned ``rows``, new
        :class:`~caviar.trial.Trial` s where a trial changed), ``on_population_end``."""
        number, control = self._populations.pop(tuple(indices), (None, None))
        rows = list(rows)
        if control is not None:
            control.close()
            for i, row in enumerate(rows):
                changes = control.by_trial.get(row.number)
                if changes:
                    rows[i] = row.with_attrs(changes=changes)
                    if records is not None:
                        records[i].changes = changes
        if self.live is not None:
            append_progress(self.live, {"population_end": number})
        if records is not None and self.hooks:
            results = [r.member for r in records]
            state = HookState("tune", None, number, list(indices), results)
            with self.lock:
                notify(self.hooks, "on_population_end", state)
        return rows

    def recorded(self, store, rows: list[Trial]) -> None:
        """Trials were written (``store``: the open study, None while a background
        thread writes it): the watch's trial lines, then the callbacks per trial."""
        if self.live is not None:
            for r in rows:
                line = {k: r.get(k) for k in ("index", "status", "val_score", "round")}
                append_progress(self.live, {"trial": line})
        if store is None or not self.reads_study:
            return
        with self.lock:
            for trial in stored_trials(store, rows):
                state = HookState("tune", study=store.study, frozen=trial)
                notify_trial(self.hooks, stored_trial(trial), state)  # caviar's record

    def done(self) -> None:
        """The search ended: the watch's last line, then every ``on_train_end``."""
        if self.live is not None:
            append_progress(self.live, {"done": True})
        notify(self.hooks, "on_train_end", HookState("tune"))
