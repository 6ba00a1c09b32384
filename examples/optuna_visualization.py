"""
Read a Caviar study with Optuna's visualizations
================================================

Every trial of ``caviar tune`` is stored as an ordinary Optuna trial: its parameters
with their distributions, each epoch's validation score as an intermediate value,
pruned trials as ``PRUNED``. So ``optuna.load_study`` and ``optuna.visualization``
work on it unchanged (and so does optuna-dashboard: ``caviar dashboard RUN_DIR``).
"""

import tempfile
from pathlib import Path

import optuna

import caviar

out = Path(tempfile.mkdtemp()) / "study_demo"
config = {
    "data": {"source": "digits"},
    "model": {"hidden": [16]},
    "train": {"epochs": 9, "batch_size": 64},
    "search": {
        "strategy": "random",
        "trials": 24,
        "seed": 0,
        "halving": {"min_epochs": 1, "eta": 3},
        "space": {
            "optimizer.lr": {"log_uniform": [1e-4, 1e-1]},
            "penalty.l2_kernel": {"log_uniform": [1e-6, 1e-2]},
        },
    },
}
result = caviar.tune(config, out=out, outputs=False)

# %%
# Load the study
# --------------
# The study is named after the config (``tune`` for a dict), stored in
# ``RUN_DIR/study.db``.
study = optuna.load_study(study_name=None, storage=result.storage_url)
print(study.study_name, len(study.trials), "trials; best:", study.best_trial.params)
print(
    "states:",
    {
        s.name: sum(t.state == s for t in study.trials)
        for s in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    },
)

# %%
# Optimization history
# --------------------
optuna.visualization.plot_optimization_history(study)

# %%
# The learning curves are the intermediate values
# -----------------------------------------------
# Pruned trials stop at a rung of successive halving.
optuna.visualization.plot_intermediate_values(study)

# %%
# Each parameter against the score
# --------------------------------
optuna.visualization.plot_slice(study)
