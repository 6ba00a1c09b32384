"""
Ensembles and Monte-Carlo dropout
=================================

``[ensemble] size = k`` saves the top k members of the best population as one model
that averages their probabilities. A model trained with dropout can also predict with
dropout *on*: :meth:`~caviar.TrainedModel.predict_mc` averages T stochastic passes and
returns the spread of each probability, a measure of the model's uncertainty.
"""

import matplotlib.pyplot as plt
import numpy as np

import caviar

run = caviar.train(
    {
        "data": {"source": "digits"},
        "model": {"hidden": [64], "dropout": 0.3},
        "optimizer": {"name": "adam", "lr": 3e-3},
        "train": {
            "epochs": 12,
            "batch_size": 64,
            "seed": [0, 1, 2, 3],
            "sampling": "bootstrap",
        },  # each member its own bootstrap sample
        "ensemble": {"size": 4, "method": "mean"},
    }
)
model = run.best_model
X, y = run.data.X_test, run.data.y_test
single = [m.val_score for m in run.members]
print("members' validation accuracy:", np.round(single, 3))
print(f"ensemble of 4, test accuracy: {run.test_score:.3f}")

# %%
# Monte-Carlo dropout
# -------------------
# 20 passes with dropout on. ``preprocessed=True``: ``X_test`` is already prepared.
mean, std = model.predict_mc(X, 20, preprocessed=True)
predicted = mean.argmax(axis=1)
uncertainty = std[np.arange(len(predicted)), predicted]
correct = predicted == y
print(
    f"MC-dropout accuracy {correct.mean():.3f}; mean spread of the chosen class: "
    f"right {uncertainty[correct].mean():.3f}, wrong {uncertainty[~correct].mean():.3f}"
)

# %%
# The wrong predictions are the uncertain ones
# --------------------------------------------
fig, ax = plt.subplots(figsize=(6, 4))
bins = np.linspace(0, uncertainty.max(), 20)
ax.hist(uncertainty[correct], bins=bins, alpha=0.7, label="right", density=True)
ax.hist(uncertainty[~correct], bins=bins, alpha=0.7, label="wrong", density=True)
ax.set(xlabel="std of the predicted class's probability over 20 passes", ylabel="density")
ax.legend()
fig.tight_layout()
