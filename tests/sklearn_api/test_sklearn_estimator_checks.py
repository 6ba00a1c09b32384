"""scikit-learn's own estimator checks, run on both estimators.

No check is skipped or expected to fail. scikit-learn itself skips
``check_array_api_input`` unless SCIPY_ARRAY_API=1 is set (the estimators do not
declare array-API support, so the check does not apply). Small ``epochs`` and a
larger ``learning_rate`` keep the run short while ``check_classifiers_train`` /
``check_regressors_train`` still demand a good fit.

The checks run in float64: ``check_sample_weight_equivalence_on_dense_data`` demands
that integer sample weights equal repeated rows to 1e-7. They do in exact arithmetic
(one full batch, a weighted mean of the losses: measured 2e-11 apart with Adam in
float64, 1e-16 with SGD), but float32 rounding of the two sums is amplified by Adam's
normalized first steps (``g / sqrt(v)``) to about 1e-2 after 8 epochs.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from caviar.sklearn import CaviarClassifier, CaviarRegressor, expected_failed_checks

FAST = {
    "hidden_layer_sizes": (16,),
    "epochs": 8,
    "batch_size": 64,
    "learning_rate": 0.05,
    "random_state": 0,
    "dtype": "float64",
}


@parametrize_with_checks([CaviarClassifier(**FAST), CaviarRegressor(**FAST)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# the default float32: every check passes but the sample-weight equivalence, which is
# declared expected-to-fail with its reason (caviar.sklearn.checks), as scikit-learn does
# for its SGD estimators; the declaration must be needed (xfail, not xpass)
FAST32 = {**FAST, "dtype": "float32"}


@parametrize_with_checks(
    [CaviarClassifier(**FAST32), CaviarRegressor(**FAST32)],
    expected_failed_checks=expected_failed_checks,
)
def test_sklearn_estimator_checks_float32(estimator, check):
    check(estimator)
