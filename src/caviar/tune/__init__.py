"""Hyperparameter search over populations: ``caviar.tune(config)`` and ``caviar tune``."""

from caviar.tune.runner import TunePlan, TuneResult, make_plan, tune

__all__ = ["TunePlan", "TuneResult", "make_plan", "tune"]


def _make_callable() -> None:
    """``caviar.tune(...)`` calls :func:`caviar.tune.runner.tune` (the package is callable)."""
    import sys
    import types

    class _CallableModule(types.ModuleType):
        def __call__(self, *args, **kwargs):  # noqa: ANN002, ANN003
            return tune(*args, **kwargs)

    sys.modules[__name__].__class__ = _CallableModule


_make_callable()
