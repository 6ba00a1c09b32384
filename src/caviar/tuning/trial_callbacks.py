"""Optuna-style trial callbacks for :func:`caviar.tune`: ``callbacks=[fn(study, trial)]``
(the same list may hold Keras-style ``Callback`` objects: :mod:`.tune_callbacks`).

As in ``optuna.Study.optimize(callbacks=...)``, each callback receives the study and a
finished trial (``optuna.trial.FrozenTrial``: ``number``, ``value`` = the validation
score, ``params``, ``state``, ``user_attrs["record"]`` = caviar's record of it), here
after each population's trials were written to the study. A search with callbacks
writes its study synchronously, so the trials a callback reads are all there.
"""

from __future__ import annotations

from typing import Any


def stored_trials(store, rows: list[dict[str, Any]]) -> list:
    """The study's ``FrozenTrial`` of each record of ``rows`` (in their order)."""
    wanted = [int(r["index"]) for r in rows]
    by_index = {}
    for t in store.study.get_trials(deepcopy=False):
        index = t.user_attrs.get("index")
        if index in wanted:
            by_index[int(index)] = t  # the latest trial of an index
    return [by_index[index] for index in wanted]


def notify_trials(callbacks, store, rows: list[dict[str, Any]]) -> None:
    """Call every callback with the study and each trial of ``rows`` (in their order)."""
    if not callbacks:
        return
    for trial in stored_trials(store, rows):
        for fn in callbacks:
            fn(store.study, trial)
