"""Loss functions for a population: every loss maps ``(P, B, K)`` predictions to ``(P,)``.

Pure functions, one per file, each stating its formula (background:
:ref:`bg-regression-losses`, :ref:`bg-cross-entropy`, :ref:`bg-kl-divergence`,
:ref:`bg-hinge`, :ref:`bg-label-smoothing`); :mod:`caviar.losses.reduction` is the one
shared reduction (mean over the batch and the output axis). :data:`LOSSES` /
:func:`get_loss` is the registry by name.
"""

from caviar.losses.binary_cross_entropy import binary_cross_entropy
from caviar.losses.cross_entropy import cross_entropy
from caviar.losses.huber import huber
from caviar.losses.kl_divergence import kl_divergence
from caviar.losses.l1 import l1
from caviar.losses.l2 import l2
from caviar.losses.log_cosh import log_cosh
from caviar.losses.multiclass_hinge import multiclass_hinge
from caviar.losses.reduction import Reduction, reduce_loss
from caviar.losses.registry import LOSSES, LossSpec, get_loss, sigmoid_proba, softmax_proba
from caviar.losses.squared_hinge import squared_hinge

__all__ = [
    "LOSSES",
    "LossSpec",
    "Reduction",
    "binary_cross_entropy",
    "cross_entropy",
    "get_loss",
    "huber",
    "kl_divergence",
    "l1",
    "l2",
    "log_cosh",
    "multiclass_hinge",
    "reduce_loss",
    "sigmoid_proba",
    "softmax_proba",
    "squared_hinge",
]
