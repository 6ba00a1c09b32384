"""
Diagnose a network: gradient check, learning-rate range test, initialization
=============================================================================

:func:`caviar.diagnose.diagnose` runs every check of ``caviar diagnose`` on one
configuration: the initial loss against a constant prediction, a float64 gradient
check (autograd and the training step's own backpropagation against central
differences), per-layer gradient norms over a short training run, the Hessian's
condition number, a learning-rate range test and the naive baseline with a verdict.

Here a deep sigmoid network against the same network with ReLU: the sigmoid
network's first layers get almost no gradient (they *vanish*).
"""

import matplotlib.pyplot as plt

from caviar.config import RunConfig
from caviar.data import prepare_data
from caviar.diagnose import diagnose

data = prepare_data("iris", seed=0)
reports = {}
for activation in ["sigmoid", "relu"]:
    cfg = RunConfig.model_validate(
        {
            "data": {"source": "iris"},
            "model": {"hidden": [8, 8, 8, 8], "activation": activation},
            "optimizer": {"name": "sgd", "lr": 0.1},
            "train": {"epochs": 12, "batch_size": 16},
        }
    )
    reports[activation] = diagnose(cfg, data, epochs=12, lr_steps=40)

# %%
# Initialization and gradient check
# ---------------------------------
# The initial loss equals ``log 3`` (three classes): the output layer starts at the
# class prior, so the network starts from the best constant prediction. Every
# parameter tensor's gradient matches central differences in float64.
for activation, r in reports.items():
    init, check = r["initialization"], r["gradient_check"]
    worst = max(t["max_rel_error"] for t in check["tensors"])
    print(
        f"{activation}: initial loss {init['initial_loss']:.4f} (log k = {init['log_k']:.4f}); "
        f"gradient check ok={check['ok']} (worst relative error {worst:.1e}); "
        f"training path ok={check['training_path']['ok']}"
    )
    print(
        f"  condition number {r['conditioning']['condition_number']:.3g}; "
        f"verdict: {r['fit']['verdict']} ({r['fit']['reason']})"
    )

# %%
# Gradient norms per layer
# ------------------------
# The mean kernel-gradient norm of each layer over training. ``first_to_last_ratio``
# below 1e-3 is what the gradient monitor calls vanishing.
fig, ax = plt.subplots(figsize=(6, 4))
for activation, r in reports.items():
    g = r["gradient_norms"]
    ax.plot(
        range(1, len(g["mean"]) + 1),
        g["mean"],
        marker="o",
        label=f"{activation} (first/last = {g['first_to_last_ratio']:.1e})",
    )
ax.set(xlabel="layer", ylabel="mean gradient norm", yscale="log", title="vanishing gradients")
ax.legend()
fig.tight_layout()

# %%
# Learning-rate range test
# ------------------------
# The training loss while the rate grows exponentially, one step per rate; the
# suggested rate is where the loss falls fastest.
fig, ax = plt.subplots(figsize=(6, 4))
for activation, r in reports.items():
    lr = r["lr_range_test"]
    ax.plot(lr["lrs"], lr["losses"], label=activation)
    if lr.get("suggested_lr"):
        ax.axvline(lr["suggested_lr"], ls="--", color=ax.lines[-1].get_color())
ax.set(
    xscale="log",
    xlabel="learning rate",
    ylabel="training loss (smoothed)",
    title="dashed: suggested rate",
)
ax.legend()
fig.tight_layout()
