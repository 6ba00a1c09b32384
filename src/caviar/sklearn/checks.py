"""The scikit-learn estimator checks a Caviar estimator is expected to fail, with the
reason, for ``check_estimator(est, expected_failed_checks=...)`` and
``parametrize_with_checks(..., expected_failed_checks=...)`` (how scikit-learn itself
declares them for ``SGDClassifier`` / ``SGDRegressor``).

``check_sample_weight_equivalence_on_dense_data`` asks that integer sample weights
give the same model as repeated rows, to 1e-7. The two are equal in exact arithmetic
(a weighted mean of the per-row losses) and in float64 the estimators pass the check
(measured 2e-11 apart); in float32 (the default ``dtype``) the two sums round
differently and Adam's normalized steps amplify that to about 1e-2 over the epochs.
"""

from __future__ import annotations

from typing import Any

SAMPLE_WEIGHT_REASON = (
    "in float32, sample_weight equals repeated rows only up to rounding (amplified by "
    "the optimizer's normalized steps); it passes with dtype='float64'"
)


def expected_failed_checks(estimator: Any) -> dict[str, str]:
    """``{check name: reason}`` for ``estimator`` (empty in float64).

    Parameters
    ----------
    estimator : CaviarClassifier or CaviarRegressor

    Returns
    -------
    dict
        The checks expected to fail and why.

    Examples
    --------
    >>> from caviar.sklearn import CaviarClassifier
    >>> sorted(expected_failed_checks(CaviarClassifier()))
    ['check_sample_weight_equivalence_on_dense_data']
    >>> expected_failed_checks(CaviarClassifier(dtype="float64"))
    {}
    """
    if getattr(estimator, "dtype", "float32") == "float64":
        return {}
    return {"check_sample_weight_equivalence_on_dense_data": SAMPLE_WEIGHT_REASON}
