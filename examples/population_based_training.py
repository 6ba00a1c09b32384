"""
Population-based training
=========================

With ``[search.pbt]``, every ``interval`` epochs the worst quarter of the population
copies the weights and optimizer state of the best quarter (*exploit*) and perturbs its
continuous hyperparameters by a factor ``1 ± perturb`` (*explore*). The learning rate
of a trial therefore changes during training; the stored trial keeps the values it
ended with, and the steps in ``pbt_history``.
"""

import tempfile

import matplotlib.pyplot as plt

import caviar

config = {
    "data": {"source": "digits"},
    "model": {"hidden": [32]},
    "optimizer": {"name": "sgd"},
    "train": {"epochs": 12, "batch_size": 64, "patience": None},
    "search": {
        "strategy": "random",
        "trials": 16,
        "seed": 1,
        "pbt": {"interval": 3, "fraction": 0.25, "perturb": 0.5},
        "space": {"optimizer.lr": {"log_uniform": [1e-3, 1.0]}},
    },
}
# outputs=False: only the study (no model files or report) in the run directory
result = caviar.tune(config, out=tempfile.mkdtemp(), outputs=False)

print("best trial:", result.best["index"], "final parameters:", result.best["params"])
changed = [t for t in result.trials if t["pbt_history"]]
print(f"{len(changed)} of {len(result.trials)} trials were changed by PBT")
trial = changed[0]
print(f"trial {trial['index']} was sampled with {trial['pbt_initial_params']}")
for step in trial["pbt_history"]:
    print(f"  after epoch {step['epoch']}: copied trial {step['from']}, now {step['params']}")

# %%
# Learning rate over time
# -----------------------
# Each trial's learning rate per epoch, rebuilt from its sampled value and its PBT
# steps (a step after epoch ``e`` holds from epoch ``e + 1``): exploit steps jump to the
# rate of a better trial, perturbed.


def lr_per_epoch(trial, epochs):
    lr = (trial.get("pbt_initial_params") or trial["params"])["optimizer.lr"]
    steps = {s["epoch"]: s["params"]["optimizer.lr"] for s in trial["pbt_history"]}
    out = []
    for epoch in range(1, epochs + 1):
        out.append(lr)
        lr = steps.get(epoch, lr)
    return out


fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
for trial in result.trials:
    scores = trial["history"]["val_score"]
    epochs = range(1, len(scores) + 1)
    ax1.step(epochs, lr_per_epoch(trial, len(scores)), where="post", alpha=0.7)
    ax2.plot(epochs, scores, alpha=0.7)
ax1.set(xlabel="epoch", ylabel="learning rate", yscale="log", title="each trial's rate")
ax2.set(xlabel="epoch", ylabel="validation accuracy", title="each trial's score")
fig.tight_layout()
