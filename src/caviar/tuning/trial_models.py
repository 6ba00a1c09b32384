"""The model of any finished trial of a search, e.g. another member of its Pareto front.

The final model is one trial's (``search.select``); any other trial's model is trained
again from its stored record by :func:`caviar.tuning.rebuild.rebuild` (alone for the
epochs it ran, or its PBT population replayed): by the core invariant the same weights
the trial ended with, so the same validation score and objective values.
"""

from __future__ import annotations

from typing import Any

from caviar.errors import CaviarError
from caviar.model import TrainedModel
from caviar.trial import Trial


def trial_model(result: Any, trial: Trial | int, data=None) -> TrainedModel:
    """The one-member model of ``trial`` (a :class:`~caviar.trial.Trial` of ``result``,
    a ``TuneResult``, or its number); ``data``: the search's splits (default: the
    config's data section, loaded again)."""
    from caviar.data.config_data import load_data_for
    from caviar.tuning.rebuild import rebuild
    from caviar.tuning.refit import model_from_records

    number = trial if isinstance(trial, int) else trial.number
    by_index = {int(t.number): t for t in result.trials}
    if number not in by_index:
        raise CaviarError(f"no finished trial {number} in this search")
    chosen = by_index[number]
    if not chosen.scored:
        raise CaviarError(f"trial {number} has no model ({chosen.state})")
    if number == result.best.number and result.model.n_members == 1:
        if result.model.metrics.get("refit", "none") == "none":
            return result.model
    plan = result.plan
    if data is None:
        data = load_data_for([plan.base_config()])
    records, how = rebuild([chosen], by_index, plan.base, plan.space, data)
    metrics = {"val_score": float(chosen.value), "best_index": number, "rebuilt": how}
    return model_from_records(records, data, metrics)


__all__ = ["trial_model"]
