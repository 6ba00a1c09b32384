"""
Tables with gaps: missing values, text columns and unseen categories
=====================================================================

A customer table as it comes out of a database: text columns, numbers missing for
some customers, a few rows whose outcome was never recorded. Caviar fits the whole
preparation (fill values, missing indicators, category levels) on the training rows,
saves it inside the model and applies it to raw rows at prediction time.

Run it with ``python examples/tables_with_gaps.py`` (about 20 seconds on two cores).
"""

# %%
# A table with realistic gaps
# ---------------------------
# Income is missing more often for young customers (missing at random given age), the
# contract plan is sometimes blank, the city has many levels, and 2% of the rows have no
# recorded outcome. The table is generated with a fixed seed.
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import caviar
from caviar.errors import CaviarWarning
from caviar.sklearn import CaviarClassifier

rng = np.random.default_rng(7)
n = 1200
age = rng.normal(42, 12, n).clip(18, 90).round()
income = np.exp(rng.normal(10.3 + 0.01 * (age - 42), 0.4)).round(-2)
plan = rng.choice(["monthly", "yearly", "two-year"], n, p=[0.55, 0.3, 0.15])
city = rng.choice(
    [f"city_{i:02d}" for i in range(60)], n, p=np.r_[np.full(10, 0.06), np.full(50, 0.008)]
)
support_calls = rng.poisson(1.5, n)
logit = -1.0 + 0.9 * (plan == "monthly") - 0.6 * (plan == "two-year") + 0.35 * support_calls
logit += -0.02 * (age - 42) - 0.4 * (income > 30000)
churn = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no").astype(object)

table = pd.DataFrame(
    {"age": age, "income": income, "plan": plan, "city": city, "support_calls": support_calls}
)
table.loc[rng.random(n) < np.where(age < 30, 0.35, 0.08), "income"] = np.nan
table.loc[rng.random(n) < 0.06, "plan"] = None
table.loc[rng.random(n) < 0.04, "age"] = np.nan
table["churn"] = churn
table.loc[rng.random(n) < 0.02, "churn"] = None
print(table.isna().sum().to_string())

workdir = Path(tempfile.mkdtemp())
csv = workdir / "customers.csv"
table.to_csv(csv, index=False)

# %%
# Train straight from the CSV
# ---------------------------
# No preparation by hand: rows without an outcome are dropped (with a count), numeric
# gaps take the training median plus a ``:missing`` indicator column, the 60 cities
# keep their 16 most frequent levels and pool the rest into ``city=<other>``.
config = {
    "data": {"source": str(csv), "target": "churn", "max_onehot": 16},
    "model": {"hidden": [32]},
    "optimizer": {"name": "adam", "lr": [3e-3, 1e-2]},
    "train": {"epochs": 30, "metric": "roc_auc", "class_weight": "balanced"},
}
with warnings.catch_warnings(record=True) as notes:
    warnings.simplefilter("always", CaviarWarning)
    run = caviar.train(config)
for note in notes:
    print("note:", note.message)
pre = run.data.preprocessor
print(f"{len(pre.input_columns)} columns -> {pre.n_features} model inputs")
print("inputs:", ", ".join(pre.feature_names[:8]), "...")
print(f"validation ROC AUC {run.best.val_score:.3f}, test ROC AUC {run.test_score:.3f}")

# %%
# Boosted trees on the same split
# -------------------------------
# ``caviar train`` puts this comparison in its summary; here it is by hand, scored with
# the same metric.
from caviar.diagnose.trees import trees_report  # noqa: E402

trees = trees_report(run.data, run.best.val_score, metric="roc_auc")
print(f"{trees['name']}: validation {trees['val_score']:.3f} -> {trees['verdict']}")

# %%
# Predict raw rows, gaps and unseen categories included
# -----------------------------------------------------
# New customers come with blanks and a city the model never saw: the saved
# preparation fills the blanks and counts the unknown city in a warning.
new = pd.DataFrame(
    {
        "age": [25, np.nan, 61],
        "income": [np.nan, 41000, 28000],
        "plan": ["monthly", None, "two-year"],
        "city": ["city_03", "Atlantis", "city_11"],
        "support_calls": [4, 0, 1],
    }
)
with warnings.catch_warnings(record=True) as seen:
    warnings.simplefilter("always", CaviarWarning)
    proba = run.best_model.predict_proba(new)
print(seen[0].message if seen else "no unseen category")
print(pd.DataFrame(proba, columns=[f"p({c})" for c in run.best_model.classes]).round(3))

# %%
# The same table in scikit-learn
# ------------------------------
# ``CaviarClassifier`` prepares a DataFrame exactly as the CLI does; ``class_weight``
# and ``metric`` are constructor parameters.
known = table[table["churn"].notna()]
X, y = known.drop(columns="churn"), known["churn"]
clf = CaviarClassifier(
    (32,), epochs=30, early_stopping=True, metric="roc_auc", class_weight="balanced",
    learning_rate=3e-3, random_state=0, table_options={"max_onehot": 16},
)  # fmt: skip
with warnings.catch_warnings():
    warnings.simplefilter("ignore", CaviarWarning)
    clf.fit(X, y)
print(f"CaviarClassifier: best validation ROC AUC {clf.best_validation_score_:.3f} "
      f"at epoch {clf.best_epoch_ + 1}; {clf.preprocessor_.n_features} inputs")  # fmt: skip
