"""Optuna-style trial callbacks for :func:`caviar.tune`: ``callbacks=[fn(study, trial)]``
(the same list may hold hooks and Keras-style ``Callback`` objects: :mod:`.tune_callbacks`).

As in ``optuna.Study.optimize(callbacks=...)``, each callback receives the study and a
finished trial (``optuna.trial.FrozenTrial``: ``number``, ``value`` = the validation
score, ``params``, ``state``, ``user_attrs["record"]`` = caviar's record of it), here
after each population's trials were written to the study. A search with callbacks
writes its study synchronously, so the trials a callback reads are all there.
:class:`OptunaAdapter` makes such a function a hook of the one protocol
(:mod:`caviar.training.hooks`): its ``on_trial_complete`` calls it with the state's
``study`` and ``frozen`` trial.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from caviar.training.hooks import Hook, HookState
from caviar.trial import Trial


class OptunaAdapter(Hook):
    """Adapter: an Optuna-style callback ``fn(study, frozen_trial)`` as a hook."""

    def __init__(self, fn: Callable[[Any, Any], None]) -> None:
        self.fn = fn

    def on_trial_complete(self, trial: Trial, state: HookState) -> None:
        self.fn(state.study, state.frozen)


def stored_trials(store, rows: Sequence[Trial | Mapping[str, Any]]) -> list:
    """The study's ``FrozenTrial`` of each record of ``rows`` (in their order)."""
    wanted = [int(r["index"]) for r in rows]
    by_index = {}
    for t in store.study.get_trials(deepcopy=False):
        index = t.user_attrs.get("index")
        if index in wanted:
            by_index[int(index)] = t  # the latest trial of an index
    return [by_index[index] for index in wanted]
