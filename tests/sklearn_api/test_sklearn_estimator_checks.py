"""scikit-learn's own estimator checks, run on both estimators.

No check is skipped or expected to fail. scikit-learn itself skips
``check_array_api_input`` unless SCIPY_ARRAY_API=1 is set (the estimators do not
declare array-API support, so the check does not apply). Small ``epochs`` and a
larger ``learning_rate`` keep the run short while ``check_classifiers_train`` /
``check_regressors_train`` still demand a good fit.
"""

from sklearn.utils.estimator_checks import parametrize_with_checks

from caviar.sklearn import CaviarClassifier, CaviarRegressor

FAST = {
    "hidden_layer_sizes": (16,),
    "epochs": 8,
    "batch_size": 64,
    "learning_rate": 0.05,
    "random_state": 0,
}


@parametrize_with_checks([CaviarClassifier(**FAST), CaviarRegressor(**FAST)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)
