"""Optuna samplers by name, and the ``[search.sampler]`` keyword arguments passed to them.

``search.strategy`` names the sampler; ``[search.sampler]`` holds keyword arguments of
its constructor, checked against the constructor's signature before anything runs:

========== ======================================= =====================================
strategy   Optuna sampler                          needs
========== ======================================= =====================================
``tpe``    ``TPESampler`` (constant liar)          --
``gp``     ``GPSampler`` (Gaussian process, EI)    scipy, torch
``cmaes``  ``CmaEsSampler``                        the ``cmaes`` package
``qmc``    ``QMCSampler`` (Sobol/Halton)           scipy
``nsga2``  ``NSGAIISampler``                       --
``nsga3``  ``NSGAIIISampler``                      --
========== ======================================= =====================================

``seed`` comes from ``search.seed``; arguments that take Python objects (callables,
other samplers, trials) cannot come from a config file and are refused. ``x0`` of
CMA-ES takes values (``{"optimizer.lr" = 1e-3}``) and is moved into the transformed
coordinates the sampler works in.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from caviar.errors import CaviarError
from caviar.tuning.space import SearchSpace

if TYPE_CHECKING:
    from optuna.samplers import BaseSampler

#: strategy name -> Optuna sampler class name
SAMPLERS = {
    "tpe": "TPESampler",
    "gp": "GPSampler",
    "cmaes": "CmaEsSampler",
    "qmc": "QMCSampler",
    "nsga2": "NSGAIISampler",
    "nsga3": "NSGAIIISampler",
}

#: samplers whose suggestions depend on their own earlier asks (generations, sequences):
#: a round replays the asks and tells of the earlier rounds (see OptunaSamplerStrategy)
STATEFUL = frozenset({"cmaes", "qmc", "nsga2", "nsga3"})

#: samplers that sample categorical dimensions with an independent (random) sampler
NO_CATEGORICALS = frozenset({"cmaes", "qmc"})

_OBJECT_TYPES = ("Callable", "Sampler", "FrozenTrial", "Mutation", "Crossover", "Study")


def sampler_class(name: str) -> type[BaseSampler]:
    """The Optuna sampler class of strategy ``name`` (a one-line error when its package
    is missing)."""
    import optuna

    if name == "cmaes":
        try:
            import cmaes  # noqa: F401
        except ImportError:
            raise CaviarError(
                "search.strategy 'cmaes' needs the cmaes package (pip install cmaes)"
            ) from None
    return getattr(optuna.samplers, SAMPLERS[name])


def check_sampler_args(name: str, kwargs: dict[str, Any]) -> None:
    """Refuse ``[search.sampler]`` arguments the sampler's constructor does not take."""
    if not kwargs:
        return
    if name not in SAMPLERS:
        raise CaviarError(
            f"search.sampler: strategy '{name}' takes no sampler arguments "
            f"(they are for {', '.join(SAMPLERS)})"
        )
    cls = sampler_class(name)
    params = inspect.signature(cls.__init__).parameters
    takes = [p for p in params if p not in ("self", "seed")]
    for key in kwargs:
        if key == "seed":
            raise CaviarError("search.sampler.seed: the sampler's seed is search.seed")
        if key not in params:
            raise CaviarError(
                f"search.sampler: {cls.__name__} has no argument '{key}' "
                f"(it takes {', '.join(takes)})"
            )
        annotation = str(params[key].annotation)
        if any(t in annotation for t in _OBJECT_TYPES):
            raise CaviarError(
                f"search.sampler.{key}: takes a Python object ({annotation}), "
                "which a config cannot give"
            )


def make_sampler(name: str, kwargs: dict[str, Any], seed: int, space: SearchSpace | None):
    """The sampler of strategy ``name`` built with ``kwargs`` and ``seed`` (one-line error
    when the sampler rejects a value)."""
    from optuna.exceptions import ExperimentalWarning

    cls = sampler_class(name)
    build: Callable[..., BaseSampler] = cls  # each of SAMPLERS takes seed= and its own keywords
    args = dict(kwargs)
    if name == "cmaes" and "x0" in args and space is not None:
        args["x0"] = _x0_in_t(space, args["x0"])
    if name == "nsga3" and "reference_points" in args:
        import numpy as np

        args["reference_points"] = np.asarray(args["reference_points"], dtype=float)
    try:
        with warnings.catch_warnings():  # "experimental" notices are Optuna's, not the user's
            warnings.simplefilter("ignore", ExperimentalWarning)
            return build(seed=seed, **args)
    except (TypeError, ValueError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CaviarError(
            f"search.sampler: {cls.__name__} refused the arguments: {first}"
        ) from None


def _x0_in_t(space: SearchSpace, x0: Any) -> dict[str, Any]:
    if not isinstance(x0, dict):
        raise CaviarError("search.sampler.x0: a table of dimension = value")
    by_path = {d.path: d for d in space.dimensions}
    out = {}
    for path, value in x0.items():
        if path not in by_path:
            raise CaviarError(f"search.sampler.x0: '{path}' is not a dimension of the space")
        d = by_path[path]
        try:
            out[path] = d.to_t(value)
        except (TypeError, ValueError):
            raise CaviarError(f"search.sampler.x0.{path}: {value!r} is not a valid value") from None
    return out
