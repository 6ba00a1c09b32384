"""
A search from a notebook: progress, a trials table, the best parameters and figures
===================================================================================

``caviar.tune`` runs a whole hyperparameter search from Python. While it runs, a bar
shows the trials done, the best validation score so far and the time left; the result
is an object with a pandas table of the trials (one row each), the best parameters,
the Optuna study, plotly figures and the HTML report. The same calls work on a
``caviar.train`` result.

This example searches the learning rate, the width and the patience of a small
network on the iris data set (eight trials, a few seconds).
"""

# %%
# Run the search
# --------------
# The configuration is a dict here (a TOML file works the same). ``verbose=1`` (the
# default) draws the trial bar in the terminal or the notebook; ``verbose=0`` is
# silent. ``out`` is the run directory: the study, the final model, the leaderboard
# and the report are written there, exactly as ``caviar tune`` writes them.
import tempfile
from pathlib import Path

import caviar

config = {
    "name": "iris_notebook",  # the Optuna study's name
    "data": {"source": "iris", "seed": 0},
    "model": {"hidden": [8]},
    "optimizer": {"name": "adam"},
    "train": {"epochs": 8, "batch_size": 16},
    "search": {
        "strategy": "random",
        "trials": 8,
        "seed": 0,
        "space": {
            "optimizer.lr": {"log_uniform": [1e-3, 3e-1]},
            "model.hidden": {"choice": [[8], [16]]},
            "train.patience": {"int_uniform": [3, 10]},
        },
    },
}
out = Path(tempfile.mkdtemp()) / "iris_notebook"
result = caviar.tune(config, out=out, overrides={"train.epochs": 6})
result  # noqa: B018 - the gallery shows the last expression

# %%
# The trials as a table
# ---------------------
# One row per trial, as Optuna's ``Study.trials_dataframe()``: the trial number, its
# value (the validation score the leaderboard ranks), its state, the other scores at
# its best epoch, the epochs it ran, how long it took, and one ``params_`` column per
# hyperparameter (list-valued choices such as the hidden sizes are lists).
frame = result.trials_dataframe()
print(frame[["number", "value", "state", "epochs_run", "params_optimizer.lr"]])

# %%
# The best trial
# --------------
# ``best_params`` is the first row of the leaderboard; ``best_trial`` is the whole
# record (``number``, ``value``, ``state``, ``history``, ``timings``...) and
# ``best_model`` the final model (``predict``, ``save``).
print(result.best_params, round(result.best_value, 4))
print(result.best_trial.number, result.best_trial.timings.seconds, result.test_score)

# %%
# Optimization history
# --------------------
# Every ``plot_*`` method returns a plotly figure (``fig.show()`` in a notebook); the
# same functions live in :mod:`caviar.plots` and also take a run directory.
fig = result.plot_optimization_history()
fig  # noqa: B018

# %%
# Hyperparameter importance
# -------------------------
# fANOVA importance over every scored trial, with its spread over several seeds.
fig = result.plot_param_importances()
fig  # noqa: B018

# %%
# The report
# ----------
# ``out=`` already wrote the HTML page ``caviar report`` writes (leaderboard, every
# figure); ``result.report(path)`` writes it anywhere else.
print(result.outputs["report"])
