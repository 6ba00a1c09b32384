"""
Quickstart: train a population from Python
==========================================

Six configurations of a small network (three learning rates x two dropout rates) on
scikit-learn's bundled digits. They share their structure, so they train as **one
population**: one vectorized program in which every member has its own learning rate
and dropout rate. :func:`caviar.train` returns every member's history, ranked, and the
best model, scored once on the test split.
"""

import matplotlib.pyplot as plt

import caviar

run = caviar.train(
    {
        "data": {"source": "digits"},
        "model": {"hidden": [64], "dropout": [0.0, 0.2]},
        "optimizer": {"name": "adam", "lr": [1e-3, 3e-3, 1e-2]},
        "train": {"epochs": 15, "batch_size": 64, "seed": 0},
    }
)

# %%
# The members, best first
# -----------------------
# ``run.members`` are ranked by validation score; ``index`` is the configuration's
# position in the grid and ``config`` its full configuration.
for m in run.members:
    print(
        f"#{m.index}  lr={m.config.optimizer.lr:<6g} dropout={m.config.model.dropout:<4g} "
        f"{m.status:<14} validation accuracy {m.val_score:.3f}"
    )
print(f"best member's test accuracy: {run.test_score:.3f}")

# %%
# Learning curves
# ---------------
# Every member's validation loss per epoch, from ``member.history``.
fig, ax = plt.subplots(figsize=(7, 4))
for m in run.members:
    label = f"lr={m.config.optimizer.lr:g}, dropout={m.config.model.dropout:g}"
    ax.plot(range(1, len(m.history["val_loss"]) + 1), m.history["val_loss"], label=label)
ax.set(xlabel="epoch", ylabel="validation loss", yscale="log", title="one population, six members")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The best model predicts raw features
# ------------------------------------
# ``run.best_model`` is a :class:`caviar.TrainedModel`; it applies the preprocessing
# fitted on the training split.
from sklearn.datasets import load_digits  # noqa: E402

X, y = load_digits(return_X_y=True)
print("predicted:", run.best_model.predict(X[:10]))
print("true:     ", y[:10])
