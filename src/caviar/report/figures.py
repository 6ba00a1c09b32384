"""One plotly figure per report section (each function takes a :class:`RunData`).

The sections live in their own modules; this one gathers them for
:mod:`caviar.report.html`:

* ``caviar.report.history``: optimization history (by trial, by wall time);
* ``caviar.report.curves``: loss and score curves;
* ``caviar.report.params``: hyperparameters against the score, parallel coordinates,
  contours of the most important pairs;
* ``caviar.report.importance``: fANOVA importance over every scored trial;
* ``caviar.report.rounds``: coarse-to-fine rounds;
* ``caviar.report.pareto``: the Pareto front of a search with several objectives;
* ``caviar.report.diagnosis``: gradient norms and the learning-rate range test.

Styles and axes: ``caviar.report.style``.
"""

from caviar.report.curves import learning_curves, score_curves
from caviar.report.diagnosis import gradient_norms, is_flat, lr_range
from caviar.report.history import optimization_history
from caviar.report.importance import MIN_SCORED, importance
from caviar.report.params import (
    axis_title,
    contours,
    parallel_coordinates,
    param_values,
    params_vs_score,
)
from caviar.report.pareto import pareto_front
from caviar.report.rounds import rounds
from caviar.report.style import BEST, LAYOUT, MARKERS, STYLE, short, who

__all__ = [
    "BEST",
    "LAYOUT",
    "MARKERS",
    "MIN_SCORED",
    "STYLE",
    "axis_title",
    "contours",
    "gradient_norms",
    "importance",
    "is_flat",
    "learning_curves",
    "lr_range",
    "optimization_history",
    "parallel_coordinates",
    "param_values",
    "pareto_front",
    "params_vs_score",
    "rounds",
    "score_curves",
    "short",
    "who",
]
