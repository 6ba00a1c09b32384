"""
Accuracy against size: a search with several objectives
=======================================================

A deployed network is tuned for its accuracy *and* its size (or its speed). With
``search.objectives`` the search is a multi-objective Optuna study, as
``optuna.create_study(directions=["maximize", "minimize"])``: every trial's accuracy and
parameter count are stored, the sampler (here NSGA-II) is told both, and the result is a
Pareto front: the trials no other trial beats on both. ``search.select`` picks the final
model on the front (``"knee"``: closest to the ideal point once both objectives are
scaled to [0, 1]); the others can be trained again from their records.
"""

import tempfile
from pathlib import Path

import optuna

import caviar

out = Path(tempfile.mkdtemp()) / "pareto_demo"
config = {
    "data": {"source": "digits"},
    "model": {"hidden": [16]},
    "train": {"epochs": 8, "batch_size": 64},
    "search": {
        "strategy": "nsga2",
        "trials": 24,
        "batch": 12,
        "seed": 0,
        "objectives": ["accuracy", "n_params"],  # maximize, minimize
        "select": "knee",
        "space": {
            "model.hidden": {"choice": [[2], [4], [8], [16], [32], [64]]},
            "optimizer.lr": {"log_uniform": [1e-3, 3e-2]},
        },
    },
}
result = caviar.tune(config, out=out, outputs=False, verbose=0)

# %%
# The Pareto front
# ----------------
# ``result.pareto_front()`` (also ``result.best_trials``, as Optuna's
# ``study.best_trials``) lists the front, best accuracy first; the final model is the
# knee.
for t in result.pareto_front():
    print(t.number, t["objectives"])
print("final model: trial", result.best.number)

# %%
# The report's figure
# -------------------
# Dominated trials grey, the front joined, the final model starred.
result.plot_pareto_front()

# %%
# Optuna's figure, from the saved study
# -------------------------------------
study = optuna.load_study(study_name=result.plan.name, storage=result.storage_url)
optuna.visualization.plot_pareto_front(study)

# %%
# Another member of the front
# ---------------------------
# The smallest network on the front, trained again from its stored record (the same
# weights it ended with: a member trained alone follows its path in the population).
small = result.pareto_front()[-1]
model = result.model_of(small)
print("trial", small.number, small["objectives"], "->", type(model).__name__)
