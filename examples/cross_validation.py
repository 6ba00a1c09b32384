"""
k-fold cross-validation inside the population
=============================================

``train.cv = k`` scores each configuration by k-fold cross-validation of
train+validation. The k folds of every configuration train as k members of the same
population (configurations x folds in one program), each on its own fold's rows. A
configuration's score is the mean over its folds, and it is then refit on all of
train+validation for its folds' mean best epoch count.
"""

import matplotlib.pyplot as plt
import numpy as np

import caviar

run = caviar.train(
    {
        "data": {"source": "breast_cancer"},
        "model": {"hidden": [16]},
        "optimizer": {"name": "adam", "lr": [1e-4, 1e-3, 1e-2]},
        "train": {"epochs": 30, "batch_size": 32, "cv": 4, "patience": 5},
    }
)

for m in run.members:
    print(
        f"lr={m.config.optimizer.lr:<7g} fold mean {m.val_score:.3f}  "
        f"folds {np.round(m.cv_scores, 3)}  refit for {m.refit_epochs} epochs"
    )
print(f"test accuracy of the best, refit on train+validation: {run.test_score:.3f}")

# %%
# Each configuration's folds
# --------------------------
fig, ax = plt.subplots(figsize=(6, 4))
for i, m in enumerate(sorted(run.members, key=lambda m: m.config.optimizer.lr)):
    scores = m.cv_scores
    ax.scatter([i] * len(scores), scores, color="grey", s=15)
    ax.errorbar(i, np.mean(scores), yerr=np.std(scores), fmt="o", color="C3", capsize=4)
ax.set_xticks(range(3), ["1e-4", "1e-3", "1e-2"])
ax.set(xlabel="learning rate", ylabel="validation accuracy", title="4 folds each: mean ± std")
fig.tight_layout()
