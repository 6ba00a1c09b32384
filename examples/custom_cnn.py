"""
Your own CNN module
===================

Any ``torch.nn.Module`` trains as a population: a *factory* receives each member's
``[model]`` section (plus ``input_shape`` and ``n_outputs``) and returns the module;
Caviar stacks the P members into one vectorized program. Extra ``model`` keys (here
``width``) are yours, and :class:`caviar.nn.Dropout` takes each member's own
``model.dropout``. Digits are read as 1x8x8 images.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from torch import nn

import caviar


def small_cnn(cfg):
    """A conv layer, pooling and a linear read-out; ``cfg`` is the member's [model]."""
    channels, height, width = cfg["input_shape"]
    return nn.Sequential(
        nn.Conv2d(channels, cfg["width"], kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        caviar.nn.Dropout(),  # rate: each member's model.dropout
        nn.Linear(cfg["width"] * (height // 2) * (width // 2), cfg["n_outputs"]),
    )


X, y = load_digits(return_X_y=True)
data = caviar.data.prepare_arrays(X.reshape(-1, 1, 8, 8), y, seed=0)

run = caviar.train(
    {
        "data": {"source": "digits-images"},
        "model": {"width": 8, "dropout": [0.0, 0.25]},
        "optimizer": {"name": "adam", "lr": [1e-3, 3e-3]},
        "train": {"epochs": 8, "batch_size": 64},
    },
    data=data,
    module=small_cnn,
)
for m in run.members:
    print(
        f"lr={m.config.optimizer.lr:g} dropout={m.config.model.dropout:g}: "
        f"validation accuracy {m.val_score:.3f}"
    )
print(f"test accuracy of the best: {run.test_score:.3f}")

# %%
# Learning curves of the four members
# -----------------------------------
fig, ax = plt.subplots(figsize=(6, 4))
for m in run.members:
    ax.plot(
        m.history["val_score"],
        label=f"lr={m.config.optimizer.lr:g}, dropout={m.config.model.dropout:g}",
    )
ax.set(xlabel="epoch", ylabel="validation accuracy")
ax.legend()
fig.tight_layout()
