"""
A scikit-learn Pipeline on a DataFrame with PopulationSearchCV
==============================================================

:class:`~caviar.sklearn.PopulationSearchCV` takes the arguments of
``RandomizedSearchCV`` and returns the same ``cv_results_``, but trains the
candidates x folds as populations: candidates that differ only in continuous
parameters (here the learning rate and the L2 penalty) train as members of one
population per fold. The estimator is an ordinary scikit-learn ``Pipeline``: a
``ColumnTransformer`` scales the numeric columns and one-hot encodes the categorical
one, then :class:`~caviar.sklearn.CaviarClassifier` learns.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy.stats import loguniform
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from caviar.sklearn import CaviarClassifier, PopulationSearchCV

# A table with numbers and a category: will a customer renew?
rng = np.random.default_rng(0)
n = 600
frame = pd.DataFrame(
    {
        "age": rng.integers(18, 80, n),
        "monthly_spend": rng.gamma(2.0, 30.0, n).round(2),
        "plan": rng.choice(["basic", "plus", "pro"], n),
    }
)
logit = 0.03 * (frame["age"] - 45) + 0.02 * (frame["monthly_spend"] - 60)
logit += frame["plan"].map({"basic": -1.0, "plus": 0.0, "pro": 1.2})
y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
X_train, X_test, y_train, y_test = train_test_split(frame, y, random_state=0, stratify=y)

pipe = make_pipeline(
    ColumnTransformer(
        [
            ("numbers", StandardScaler(), ["age", "monthly_spend"]),
            ("plan", OneHotEncoder(), ["plan"]),
        ]
    ),
    CaviarClassifier(hidden_layer_sizes=(16,), epochs=30, batch_size=32, random_state=0),
)
search = PopulationSearchCV(
    pipe,
    param_distributions={
        "caviarclassifier__learning_rate": loguniform(1e-4, 1e-1),
        "caviarclassifier__l2_kernel": loguniform(1e-6, 1e-2),
    },
    n_iter=16,
    cv=3,
    random_state=0,
)
search.fit(X_train, y_train)
print("best parameters:", search.best_params_)
print(
    f"best cross-validated accuracy {search.best_score_:.3f}, "
    f"test accuracy {search.score(X_test, y_test):.3f}"
)

# %%
# ``cv_results_`` as scikit-learn's searches return it
# -----------------------------------------------------
results = pd.DataFrame(search.cv_results_)
results[
    [
        "param_caviarclassifier__learning_rate",
        "param_caviarclassifier__l2_kernel",
        "mean_test_score",
        "std_test_score",
        "rank_test_score",
    ]
].sort_values("rank_test_score").head()

# %%
# Accuracy against the learning rate
# ----------------------------------
fig, ax = plt.subplots(figsize=(6, 4))
ax.errorbar(
    results["param_caviarclassifier__learning_rate"].astype(float),
    results["mean_test_score"],
    yerr=results["std_test_score"],
    fmt="o",
    capsize=3,
)
ax.set(xscale="log", xlabel="learning rate", ylabel="mean accuracy over 3 folds")
fig.tight_layout()

# %%
# The refit pipeline predicts DataFrames
# --------------------------------------
search.best_estimator_.predict_proba(X_test.head(3))
