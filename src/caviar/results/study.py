"""A result's trials as an ``optuna.Study``.

A search's study is the one it wrote (loaded from ``storage_url``, read-only use); a
train run has none, so one is built in memory from its members: each member one trial
(``COMPLETE`` for complete, early-stopped and converged members, ``PRUNED`` for pruned
ones, ``FAIL`` otherwise), its value the validation score, its params the fields the
run varies (numbers as float ranges, anything else as a choice of JSON texts), its
validation curve as intermediate values, ``index`` and ``status`` as user attributes.
"""

from __future__ import annotations

import json
import math
from typing import Any

from caviar.trial import Trial, optuna_state


def study_of(result: Any):
    """The ``optuna.Study`` of a ``TuneResult`` or ``TrainRun``."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = getattr(result, "storage_url", "")
    if url:  # read-only: no table creation, no schema migration (caviar.report.data)
        from caviar.report.data import open_study

        return open_study(url, result.plan.name)[0]
    return study_of_trials(result.trials)


def _distributions(trials: list[Trial]) -> dict[str, Any]:
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    names = list(dict.fromkeys(k for t in trials for k in t.params))
    out: dict[str, Any] = {}
    for name in names:
        values = [t.params.get(name) for t in trials]
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if len(numbers) == len(values) and all(math.isfinite(v) for v in numbers):
            out[name] = FloatDistribution(float(min(numbers)), float(max(numbers)))
        else:
            out[name] = CategoricalDistribution(
                list(dict.fromkeys(json.dumps(v, sort_keys=True) for v in values))
            )
    return out


def study_of_trials(trials: list[Trial]):
    """An in-memory study holding ``trials`` (module docstring)."""
    import optuna
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import TrialState

    study = optuna.create_study(direction="maximize")
    dists = _distributions(trials)
    for t in sorted(trials, key=lambda t: t.number):
        state = TrialState[optuna_state(t.state)]
        ok = math.isfinite(t.value) and state != TrialState.FAIL
        if state == TrialState.COMPLETE and not ok:
            state = TrialState.FAIL
        params = {
            k: json.dumps(t.params.get(k), sort_keys=True)
            if isinstance(d, CategoricalDistribution)
            else float(t.params[k])
            for k, d in dists.items()
        }
        curve = (t.history or {}).get("val_score") or []
        study.add_trial(
            optuna.trial.create_trial(
                state=state,
                value=t.value if ok else None,
                params=params,
                distributions=dists,
                user_attrs={"index": t.number, "status": t.state},
                intermediate_values={
                    e: float(v) for e, v in enumerate(curve, 1) if v is not None and v == v
                },
            )
        )
    return study


__all__ = ["study_of", "study_of_trials"]
