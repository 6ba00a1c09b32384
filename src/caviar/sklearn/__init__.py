"""scikit-learn API: estimators trained by the population engine, and a population search.

* :class:`CaviarClassifier`, :class:`CaviarRegressor`: ``fit``/``predict``/
  ``predict_proba``/``score``; every knob of a caviar run is a constructor parameter.
* :class:`PopulationSearchCV`: a drop-in for ``GridSearchCV``/``RandomizedSearchCV``
  that trains all candidates x folds as populations.
* :func:`expected_failed_checks`: scikit-learn checks expected to fail, with the reason.
"""

from caviar.sklearn._base import CaviarValueError
from caviar.sklearn.checks import expected_failed_checks
from caviar.sklearn.classifier import CaviarClassifier
from caviar.sklearn.regressor import CaviarRegressor
from caviar.sklearn.search import PopulationSearchCV

__all__ = [
    "CaviarClassifier",
    "CaviarRegressor",
    "CaviarValueError",
    "PopulationSearchCV",
    "expected_failed_checks",
]
