"""Fit and score every candidate x fold of a search, as populations.

For each fold (``train``, ``test``):

1. every candidate becomes ``clone(estimator).set_params(**params)``; for a
   ``Pipeline`` whose last step is a caviar estimator, the steps before it are
   fitted once per fold for each distinct setting of their parameters (exactly
   what ``Pipeline.fit`` would do for each candidate) and shared;
2. each candidate's caviar estimator goes through the steps of its own ``fit``
   (:mod:`caviar.sklearn._base`): validated arrays, seed, ``RunConfig``;
3. candidates whose prepared data are the same (same transformed inputs, same
   validation split, same table preparation and target standardization) and whose
   configurations share their structure (``structure_key`` of the engine) train as
   ONE population; their continuous parameters become per-member knobs. A member follows the
   trajectory it follows alone, so each candidate ends up exactly as
   ``estimator.fit`` would leave it;
4. each candidate is scored with scikit-learn's own scorer helper, giving the
   records that ``_fit_and_score`` gives ``GridSearchCV`` (``fit_time`` is the
   population's training time divided among its members).

A candidate whose parameters are invalid, or a population whose training fails,
records ``error_score`` (or raises with ``error_score="raise"``) like scikit-learn.
"""

from __future__ import annotations

import time
from traceback import format_exc
from typing import Any

from sklearn.base import clone
from sklearn.metrics._scorer import _MultimetricScorer
from sklearn.model_selection._validation import _score
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import _num_samples

from caviar.sklearn._base import CaviarEstimatorMixin
from caviar.sklearn._engine import PopulationTrainer, structure_key


def final_estimator(est: Any) -> Any:
    """The caviar estimator of ``est`` (itself, or a Pipeline's last step)."""
    final = est.steps[-1][1] if isinstance(est, Pipeline) else est
    if not isinstance(final, CaviarEstimatorMixin):
        raise TypeError(
            "PopulationSearchCV needs a CaviarClassifier/CaviarRegressor (or a Pipeline "
            f"ending in one), got {type(final).__name__}"
        )
    return final


class _Fit:
    """One candidate on one fold: the estimator and what happened to it."""

    def __init__(self, cand: int, est: Any) -> None:
        self.cand = cand
        self.est = est
        self.final = final_estimator(est)
        self.error: str | None = None
        self.fit_time = 0.0
        self.pre_key = ""  # the setting of a Pipeline's leading steps


def _failed(fit: _Fit, error_score: Any) -> None:
    if error_score == "raise":
        raise
    fit.error = format_exc()


def _prefit_pipeline(fits: list[_Fit], params: list[dict], X_tr, y_tr, error_score) -> dict:
    """Fit each distinct setting of a Pipeline's leading steps once; return the
    transformed training inputs per setting (key -> X)."""
    transformed: dict[str, Any] = {}
    shared: dict[str, list | None] = {}  # None: the preprocessing failed
    for fit in fits:
        if not isinstance(fit.est, Pipeline):
            continue
        last = fit.est.steps[-1][0] + "__"
        pre_params = {k: v for k, v in params[fit.cand].items() if not k.startswith(last)}
        fit.pre_key = repr(sorted(pre_params.items(), key=lambda kv: kv[0]))
        if fit.pre_key not in shared:
            start = time.time()
            try:
                head = fit.est[:-1]  # shares (and fits) fit.est's step objects
                transformed[fit.pre_key] = head.fit_transform(X_tr, y_tr)
                shared[fit.pre_key] = fit.est.steps[:-1]
            except Exception:
                shared[fit.pre_key] = None
                _failed(fit, error_score)
            fit.fit_time += time.time() - start
        elif (steps := shared[fit.pre_key]) is None:
            fit.error = "the pipeline's leading steps failed to fit (see the first failure)"
        else:
            fit.est.steps = [*steps, fit.est.steps[-1]]
    return transformed


def _group(fits: list[_Fit], transformed: dict, X_tr, y_tr, error_score) -> dict:
    """Run steps 1-3 of each candidate's fit; group them into populations."""
    groups: dict[tuple, list] = {}
    for fit in fits:
        if fit.error is not None:
            continue
        start = time.time()
        try:
            X_in = transformed.get(fit.pre_key, X_tr)
            X, y = fit.final._validate_xy(X_in, y_tr)
            seed = fit.final._seed()
            cfg = fit.final._run_config(seed)
        except Exception:
            _failed(fit, error_score)
            continue
        fit.fit_time += time.time() - start
        data_key = (seed, cfg.data.val_fraction) if fit.final.early_stopping else None
        table = (repr(fit.final.preprocess), repr(fit.final.table_options))
        scale = getattr(fit.final, "standardize_target", None)  # regressors: y as trained
        key = (fit.pre_key, repr(data_key), table, repr(scale), structure_key(cfg))
        groups.setdefault(key, []).append((fit, X, y, seed, cfg))
    return groups


def _train_group(members: list, error_score, sample_weight=None) -> None:
    """Train one population and hand each member to its candidate's estimator."""
    fits = [m[0] for m in members]
    first, X, y, seed, _ = members[0]
    start = time.time()
    try:
        data = first.final._prepared(X, y, seed, sample_weight)
        result = PopulationTrainer([m[4] for m in members], data).run()
        for i, fit in enumerate(fits):
            fit.final._adopt(result, i, data)
    except Exception:
        for fit in fits:
            _failed(fit, error_score)
    share = (time.time() - start) / len(fits)
    for fit in fits:
        fit.fit_time += share


def _record(fit: _Fit, X_tr, y_tr, X_te, y_te, scorer, error_score, train_score: bool) -> dict:
    """The record ``_fit_and_score`` returns, for one candidate on one fold."""
    record: dict[str, Any] = {"fit_error": fit.error, "n_test_samples": _num_samples(X_te)}
    if fit.error is not None:
        if isinstance(scorer, _MultimetricScorer):
            scores: Any = {name: error_score for name in scorer._scorers}
        else:
            scores = error_score
        record.update(test_scores=scores, fit_time=fit.fit_time, score_time=0.0)
        if train_score:
            record["train_scores"] = scores.copy() if isinstance(scores, dict) else scores
        return record
    start = time.time()
    record["test_scores"] = _score(fit.est, X_te, y_te, scorer, None, error_score)
    record.update(fit_time=fit.fit_time, score_time=time.time() - start)
    if train_score:
        record["train_scores"] = _score(fit.est, X_tr, y_tr, scorer, None, error_score)
    return record


def fit_and_score_populations(
    base: Any,
    candidates: list[dict],
    splits: list[tuple],
    X: Any,
    y: Any,
    *,
    scorer: Any,
    error_score: Any,
    return_train_score: bool,
    shared_seed: int,
    sample_weight: Any = None,
) -> tuple[list[dict], int]:
    """Records for every (candidate, fold), candidate-major like ``GridSearchCV``,
    and the number of populations trained. Estimators with ``random_state=None``
    get ``shared_seed`` so that candidates can share populations."""
    records: dict[tuple[int, int], dict] = {}
    n_populations = 0
    for split, (train, test) in enumerate(splits):
        X_tr, y_tr = _safe_indexing(X, train), _safe_indexing(y, train)
        X_te, y_te = _safe_indexing(X, test), _safe_indexing(y, test)
        fits = []
        for c, params in enumerate(candidates):
            est = clone(base).set_params(**clone(params, safe=False))
            fit = _Fit(c, est)
            if fit.final.random_state is None:
                fit.final.set_params(random_state=shared_seed)
            fits.append(fit)
        transformed = _prefit_pipeline(fits, candidates, X_tr, y_tr, error_score)
        groups = _group(fits, transformed, X_tr, y_tr, error_score)
        sw = None if sample_weight is None else sample_weight[train]
        for members in groups.values():
            _train_group(members, error_score, sw)
        n_populations += len(groups)
        for fit in fits:
            records[(fit.cand, split)] = _record(
                fit, X_tr, y_tr, X_te, y_te, scorer, error_score, return_train_score
            )
    out = [records[(c, s)] for c in range(len(candidates)) for s in range(len(splits))]
    return out, n_populations


__all__ = ["final_estimator", "fit_and_score_populations"]
