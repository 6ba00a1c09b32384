"""Hyperparameter search over populations (what ``caviar.tune(config)`` and ``caviar tune``
run): plans and search spaces, strategies, successive halving and PBT, the executors,
the Optuna study and the final model. ``caviar.tune`` itself is the function
:func:`caviar.tuning.runner.tune`; the old import paths ``caviar.tune.*`` still resolve
to these modules, with a ``DeprecationWarning`` (:mod:`caviar._tune_alias`)."""

from caviar.tuning.runner import TunePlan, TuneResult, make_plan, tune

__all__ = ["TunePlan", "TuneResult", "make_plan", "tune"]
