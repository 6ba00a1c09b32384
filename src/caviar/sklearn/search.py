"""``PopulationSearchCV``: GridSearchCV / RandomizedSearchCV, trained as populations.

The candidates are scikit-learn's own: ``ParameterGrid(param_grid)`` or
``ParameterSampler(param_distributions, n_iter, random_state)``; the folds come
from ``check_cv(cv, y, classifier=...)`` and the scores from ``check_scoring``
(via ``BaseSearchCV._get_scorers``), and ``cv_results_`` is built by
``BaseSearchCV._format_results``, so the keys, ranks and ``best_*`` attributes
are those of the scikit-learn searches. Only the fitting differs: all candidates
x folds train as populations (:mod:`caviar.sklearn._population_fit`), and a
member of a population ends exactly as the same estimator fitted alone.
"""

from __future__ import annotations

import time
from numbers import Integral
from typing import Any

import numpy as np
from sklearn.base import _fit_context, clone, is_classifier
from sklearn.metrics._scorer import _MultimetricScorer
from sklearn.model_selection import ParameterGrid, ParameterSampler, check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.model_selection._validation import (
    _insert_error_scores,
    _warn_or_raise_about_fit_failures,
)
from sklearn.utils import check_random_state, indexable
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import _check_sample_weight

from caviar.sklearn._population_fit import final_estimator, fit_and_score_populations


class PopulationSearchCV(BaseSearchCV):
    """Search over a caviar estimator's parameters with cross-validation, as populations.

    Give exactly one of ``param_grid`` (every combination, as ``GridSearchCV``) or
    ``param_distributions`` (``n_iter`` samples, lists or scipy distributions such
    as ``loguniform``, as ``RandomizedSearchCV``). ``estimator`` is a
    :class:`~caviar.sklearn.CaviarClassifier`/:class:`~caviar.sklearn.CaviarRegressor`
    or a ``Pipeline`` ending in one (then the leading steps are fitted once per
    fold and setting of their parameters).

    Candidates that share their structure (``hidden_layer_sizes``, ``activation``,
    ``optimizer``, ``batch_size``, ``epochs``, ``random_state``, ...) train as one
    population per fold; continuous parameters (``learning_rate``, penalties,
    optimizer hypers, ``label_smoothing``, ...) become per-member knobs.

    Parameters are those of ``RandomizedSearchCV``; ``random_state`` seeds the
    sampler (and, when the estimator's ``random_state`` is None, one seed drawn
    from it is shared by all fits so they can share populations). ``n_jobs`` and
    ``pre_dispatch`` are accepted for compatibility and unused: a population is
    already one vectorized program.

    Attributes: ``cv_results_``, ``best_estimator_``, ``best_score_``,
    ``best_params_``, ``best_index_``, ``scorer_``, ``n_splits_``, ``refit_time_``,
    ``multimetric_`` as in scikit-learn, plus ``n_populations_`` (populations
    trained).
    """

    _parameter_constraints: dict = {
        **BaseSearchCV._parameter_constraints,
        "param_grid": [dict, list, None],
        "param_distributions": [dict, list, None],
        "n_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        estimator,
        param_grid=None,
        param_distributions=None,
        *,
        n_iter=10,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        random_state=None,
        error_score=np.nan,
        return_train_score=False,
    ):
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.param_grid = param_grid
        self.param_distributions = param_distributions
        self.n_iter = n_iter
        self.random_state = random_state

    def _candidates(self) -> list[dict[str, Any]]:
        """The candidate parameter dicts, from scikit-learn's own generators."""
        if (self.param_grid is None) == (self.param_distributions is None):
            raise ValueError(
                "PopulationSearchCV needs exactly one of param_grid or param_distributions"
            )
        if self.param_grid is not None:
            return list(ParameterGrid(self.param_grid))
        sampler = ParameterSampler(
            self.param_distributions, self.n_iter, random_state=self.random_state
        )
        return list(sampler)

    def _run_search(self, evaluate_candidates):  # BaseSearchCV's hook (fit is overridden)
        evaluate_candidates(self._candidates())

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, **params):
        """Fit every candidate on every fold (as populations), then refit the best.

        ``params`` may hold ``groups`` for group-aware splitters and ``sample_weight``
        (each fold trains on the weights of its rows; the refit on all of them);
        other fit parameters for the estimator are not supported.
        """
        params = dict(params)
        groups = params.pop("groups", None)
        sample_weight = params.pop("sample_weight", None)
        if params:
            raise TypeError(f"PopulationSearchCV.fit got unsupported parameters: {sorted(params)}")
        final_estimator(self.estimator)
        scorers, refit_metric = self._get_scorers()
        X, y, groups = indexable(X, y, groups)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        self.n_splits_ = cv.get_n_splits(X, y, groups)
        splits = list(cv.split(X, y, groups))
        candidates = self._candidates()
        if self.verbose > 0:
            print(
                f"Fitting {self.n_splits_} folds for each of {len(candidates)} candidates, "
                f"totalling {self.n_splits_ * len(candidates)} fits"
            )
        shared_seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        base = clone(self.estimator)
        out, self.n_populations_ = fit_and_score_populations(
            base,
            candidates,
            splits,
            X,
            y,
            scorer=scorers,
            error_score=self.error_score,
            return_train_score=self.return_train_score,
            shared_seed=shared_seed,
            sample_weight=sample_weight,
        )
        if not out:
            raise ValueError(
                "No fits were performed. Was the CV iterator empty? Were there no candidates?"
            )
        _warn_or_raise_about_fit_failures(out, self.error_score)
        if callable(self.scoring):
            _insert_error_scores(out, self.error_score)
        results = self._format_results(candidates, self.n_splits_, out)
        self.multimetric_ = isinstance(out[0]["test_scores"], dict)
        if callable(self.scoring) and self.multimetric_:
            self._check_refit_for_multimetric(out[0]["test_scores"])
            refit_metric = self.refit
        self._select_best(results, refit_metric)
        if self.refit:
            self._refit_best(base, X, y, sample_weight)
        self.scorer_ = scorers._scorers if isinstance(scorers, _MultimetricScorer) else scorers
        self.cv_results_ = results
        return self

    def _select_best(self, results: dict, refit_metric: str) -> None:
        """``best_index_``, ``best_score_``, ``best_params_`` as BaseSearchCV sets them."""
        if self.refit or not self.multimetric_:
            self.best_index_ = self._select_best_index(self.refit, refit_metric, results)
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][self.best_index_]
            self.best_params_ = results["params"][self.best_index_]

    def _refit_best(self, base: Any, X: Any, y: Any, sample_weight=None) -> None:
        """Fit the best candidate alone on all of ``X``."""
        self.best_estimator_ = clone(base).set_params(**clone(self.best_params_, safe=False))
        start = time.time()
        fit_params = {}
        if sample_weight is not None:  # a Pipeline routes it to its last step by name
            est = self.best_estimator_
            name = (
                f"{est.steps[-1][0]}__sample_weight" if hasattr(est, "steps") else "sample_weight"
            )
            fit_params[name] = sample_weight
        if y is not None:
            self.best_estimator_.fit(X, y, **fit_params)
        else:
            self.best_estimator_.fit(X)
        self.refit_time_ = time.time() - start
        if hasattr(self.best_estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.best_estimator_.feature_names_in_
