"""Caviar: train a whole population of neural networks in one vectorized program.

The public Python API:

* :func:`caviar.train`: configurations in, a :class:`~caviar.api.TrainRun` out
  (per-member histories, statuses, the best model and its test score);
* :func:`caviar.tune`: a search (:mod:`caviar.tuning`), a ``TuneResult`` out;
* :class:`caviar.TrainedModel`: save, load, predict;
* :class:`caviar.RunConfig`: the typed configuration schema;
* :class:`caviar.Trial`: the record of one trial (or train member) in both results;
* :mod:`caviar.plots`: the report's figures from a run directory or a result;
* :class:`caviar.CaviarError`: every user-facing error.
"""

from typing import TYPE_CHECKING

from caviar.openmp import install_wait_policy

install_wait_policy()  # torch's OpenMP runtime alone gets the wait policy (caviar.openmp)

from caviar import _tune_alias  # noqa: E402
from caviar.errors import CaviarError  # noqa: E402
from caviar.version import __version__  # noqa: E402

_tune_alias.install()  # the old paths caviar.tune.* (caviar.tune is a function)

if TYPE_CHECKING:  # what type checkers and IDEs see; at run time the lazy __getattr__
    from caviar import plots
    from caviar.api import TrainRun, train
    from caviar.config import RunConfig
    from caviar.model import TrainedModel
    from caviar.trial import Trial
    from caviar.tuning.runner import tune

__all__ = [
    "CaviarError",
    "RunConfig",
    "TrainRun",
    "TrainedModel",
    "Trial",
    "__version__",
    "plots",
    "train",
    "tune",
]


def __getattr__(name: str):  # lazy: `import caviar` stays cheap until the engine is used
    if name in ("train", "TrainRun"):
        from caviar import api

        return getattr(api, name)
    if name == "tune":  # a plain function; the search package is caviar.tuning
        from caviar.tuning.runner import tune

        return tune
    if name == "Trial":
        from caviar.trial import Trial

        return Trial
    if name in ("data", "export", "nn", "tuning", "plots", "results"):
        import importlib

        return importlib.import_module(f"caviar.{name}")
    if name == "TrainedModel":
        from caviar.model import TrainedModel

        return TrainedModel
    if name == "RunConfig":
        from caviar.config import RunConfig

        return RunConfig
    raise AttributeError(f"module 'caviar' has no attribute {name!r}")
