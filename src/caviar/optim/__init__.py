"""First-order optimizers for a population: per-member hyperparameters, alive mask, PBT.

Every optimizer updates parameter tensors with a leading member axis ``P``; each
hyperparameter is a ``(P,)`` tensor (see :mod:`caviar.optim.base`). The registry
``OPTIMIZERS`` maps names to classes; :func:`make_optimizer` builds one by name.

=====================  ==========================  =====================================
name                   class                       hypers (defaults)
=====================  ==========================  =====================================
``sgd``                :class:`SGD`                lr=1e-2, weight_decay=0
``momentum``           :class:`Momentum`           lr=1e-2, momentum=0.9, dampening=0,
                                                   weight_decay=0
``velocity_momentum``  :class:`VelocityMomentum`   lr=1e-2, momentum=0.9, weight_decay=0
``nesterov``           :class:`Nesterov`           lr=1e-2, momentum=0.9, weight_decay=0
``adagrad``            :class:`Adagrad`            lr=1e-2, eps=1e-10, weight_decay=0
``rmsprop``            :class:`RMSprop`            lr=1e-3, rho=0.9, eps=1e-7, weight_decay=0
                                                   (option ``eps_inside_sqrt=True``)
``adam``               :class:`Adam`               lr=1e-3, beta1=0.9, beta2=0.999,
                                                   eps=1e-8, weight_decay=0
``adamw``              :class:`AdamW`              as ``adam`` but weight_decay=1e-2
=====================  ==========================  =====================================

``weight_decay`` is decoupled on every optimizer (``theta <- theta*(1 - eta*wd)``
before the step, :ref:`bg-weight-decay`), so ``adam`` with ``weight_decay > 0`` is
``torch.optim.AdamW``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from caviar.errors import CaviarError
from caviar.optim.adagrad import Adagrad, adagrad_step
from caviar.optim.adam import Adam, AdamW, adam_step
from caviar.optim.base import PopulationOptimizer, decoupled_weight_decay_
from caviar.optim.momentum import Momentum, VelocityMomentum, momentum_step, velocity_momentum_step
from caviar.optim.nesterov import Nesterov, nesterov_step
from caviar.optim.rmsprop import RMSprop, rmsprop_step
from caviar.optim.sgd import SGD, sgd_step

OPTIMIZERS: dict[str, type[PopulationOptimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "velocity_momentum": VelocityMomentum,
    "nesterov": Nesterov,
    "adagrad": Adagrad,
    "rmsprop": RMSprop,
    "adam": Adam,
    "adamw": AdamW,
}


def make_optimizer(
    name: str, params: Sequence[torch.Tensor] | torch.Tensor, **hypers: Any
) -> PopulationOptimizer:
    """Build the optimizer registered as ``name`` over ``params`` with the given hypers.

    Raises :class:`CaviarError` for an unknown name, an unknown hyperparameter,
    a wrong number of per-member values or an invalid value.
    """
    try:
        cls = OPTIMIZERS[name]
    except (KeyError, TypeError):
        raise CaviarError(
            f"unknown optimizer {name!r} (choose from: {', '.join(OPTIMIZERS)})"
        ) from None
    return cls(params, **hypers)


__all__ = [
    "OPTIMIZERS",
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Momentum",
    "Nesterov",
    "PopulationOptimizer",
    "RMSprop",
    "VelocityMomentum",
    "adagrad_step",
    "adam_step",
    "decoupled_weight_decay_",
    "make_optimizer",
    "momentum_step",
    "nesterov_step",
    "rmsprop_step",
    "sgd_step",
    "velocity_momentum_step",
]
