"""Regularization penalties for a population (:ref:`bg-penalties`), one value per member.

:func:`penalties` adds the Keras-style kernel, bias and activity L1/L2 terms;
:mod:`caviar.penalties.norms` (parameters) and :mod:`caviar.penalties.activity` (layer
outputs) hold the individual families.
"""

from caviar.penalties.activity import activity_l1, activity_l2, activity_penalty
from caviar.penalties.norms import l1_norm, parameter_penalty, squared_l2_norm
from caviar.penalties.total import penalties

__all__ = [
    "activity_l1",
    "activity_l2",
    "activity_penalty",
    "l1_norm",
    "parameter_penalty",
    "penalties",
    "squared_l2_norm",
]
