"""
Tune with successive halving, and read its report
=================================================

A random search of 18 configurations (learning rate and L2 penalty, both on a log
scale) with **successive halving** inside the population: at 1, 3 and 9 epochs only
the best third of the members still training go on. The search writes a run
directory like ``caviar tune`` does: the model, the leaderboard, the Optuna study and
``report.html``.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

import caviar

config = {
    "data": {"source": "digits"},
    "model": {"hidden": [32]},
    "optimizer": {"name": "adam"},
    "train": {"epochs": 9, "batch_size": 64},
    "search": {
        "strategy": "random",
        "trials": 18,
        "seed": 0,
        "halving": {"min_epochs": 1, "eta": 3},
        "space": {
            "optimizer.lr": {"log_uniform": [1e-4, 1e-1]},
            "penalty.l2_kernel": {"log_uniform": [1e-6, 1e-2]},
        },
    },
}

out = Path(tempfile.mkdtemp()) / "halving"
result = caviar.tune(config, out=out)
print(result.counts)
print("best parameters:", result.summary()["best_params"])
print(f"validation {result.val_score:.3f}, test {result.test_score:.3f}")

# %%
# The leaderboard
# ---------------
# ``leaderboard.csv`` ranks every trial; pruned trials keep the score of their best
# epoch.
board = pd.read_csv(out / "leaderboard.csv")
board.head(8)

# %%
# What halving did
# ----------------
# Each trial's validation accuracy per epoch: most stop at the rungs (1 and 3 epochs),
# the best third of the best third trains all 9 epochs.
fig, ax = plt.subplots(figsize=(7, 4))
for trial in result.trials:
    scores = trial["history"]["val_score"]
    pruned = trial["status"] == "pruned"
    ax.plot(
        range(1, len(scores) + 1),
        scores,
        color="grey" if pruned else "C3",
        alpha=0.5 if pruned else 1.0,
        marker="o",
        markersize=3,
    )
ax.set(xlabel="epoch", ylabel="validation accuracy", title="red: trained to the end; grey: pruned")
fig.tight_layout()

# %%
# The report
# ----------
# ``report.html`` is one self-contained file (it opens offline). Its sections:
report = out / "report.html"
print(report.name, f"{report.stat().st_size / 1e6:.1f} MB")
html = report.read_text()
for section in ["Leaderboard", "Optimization history", "Learning curves", "importance"]:
    print(f"{section!r} in the report: {section in html}")
