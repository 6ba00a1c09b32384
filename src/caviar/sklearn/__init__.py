"""scikit-learn API: estimators trained by the population engine, and a population search.

* :class:`CaviarClassifier`, :class:`CaviarRegressor`: ``fit``/``predict``/
  ``predict_proba``/``score``; every knob of a caviar run is a constructor parameter.
* :class:`PopulationSearchCV`: a drop-in for ``GridSearchCV``/``RandomizedSearchCV``
  that trains all candidates x folds as populations.
* :class:`ExportableEstimator`: what both estimators do once fitted, as any trained
  model: ``to_torch()``, ``export("model.onnx")`` / ``export("model.pt")``, ``save(dir)``
  and ``to_trained_model()``, the fitted preprocessing inside.
* :func:`expected_failed_checks`: scikit-learn checks expected to fail, with the reason.
"""

from caviar.sklearn._base import CaviarValueError
from caviar.sklearn._export import ExportableEstimator
from caviar.sklearn.checks import expected_failed_checks
from caviar.sklearn.classifier import CaviarClassifier
from caviar.sklearn.regressor import CaviarRegressor
from caviar.sklearn.search import PopulationSearchCV

__all__ = [
    "CaviarClassifier",
    "CaviarRegressor",
    "CaviarValueError",
    "ExportableEstimator",
    "PopulationSearchCV",
    "expected_failed_checks",
]
