"""
A population of Transformer classifiers with per-member dropout
===============================================================

Eight configurations of a small Transformer encoder trained as ONE population: four
dropout rates times two learning rates. The encoder layer is torch's own
``nn.TransformerEncoderLayer`` interface; built with ``dropout=None`` (the
``caviar.nn`` version), its attention, residual and feed-forward dropouts take each
member's ``model.dropout``, and every member draws its masks from its own random stream,
so it trains exactly as it would alone.
"""

# %%
# A sequence task
# ---------------
# 600 sequences of 16 positions with 4 features. The class is the feature whose mean
# over the second half of the sequence is largest: the model has to look at the right
# positions, which attention does well.
import numpy as np
import torch
from torch import nn

import caviar
import caviar.nn
from caviar.data import prepare_arrays

rng = np.random.default_rng(0)
n, length, features = 600, 16, 4
y = rng.integers(0, features, n)
X = rng.normal(size=(n, length, features)).astype(np.float32)
X[np.arange(n), length // 2 :, y] += 0.8
data = prepare_arrays(X, y, seed=0)
print("input shape per example:", data.input_shape)

# %%
# The module
# ----------
# A linear embedding, one encoder layer, a mean over the positions and a linear output.
# Any ``nn.TransformerEncoderLayer`` works in a population (its default dropout 0.1
# applies to every member); ``caviar.nn.TransformerEncoderLayer(..., dropout=None)``
# makes the rate a per-member hyperparameter.


class Classifier(nn.Module):
    def __init__(self, n_outputs: int) -> None:
        super().__init__()
        self.embed = nn.Linear(features, 32)
        self.encoder = caviar.nn.TransformerEncoderLayer(32, 4, 64, dropout=None, batch_first=True)
        self.out = nn.Linear(32, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, positions, features)
        return self.out(self.encoder(self.embed(x)).mean(dim=1))


# %%
# Train the population
# --------------------
# Lists in the config are grid axes: 4 dropout rates x 2 learning rates = 8 members,
# trained together in one vectorized program.
torch.set_num_threads(2)
run = caviar.train(
    {
        "data": {"source": "arrays"},
        "model": {"dropout": [0.0, 0.1, 0.2, 0.3]},
        "optimizer": {"name": "adam", "lr": [1e-3, 3e-3]},
        "train": {"epochs": 8, "batch_size": 64, "seed": 0},
    },
    data=data,
    module=lambda cfg: Classifier(cfg["n_outputs"]),
)
for m in run.members:
    cfg = m.config
    print(
        f"dropout {cfg.model.dropout:.1f}  lr {cfg.optimizer.lr:.0e}  "
        f"val accuracy {max(m.history['val_score']):.3f}"
    )
print(f"best: test accuracy {run.test_score:.3f} in {run.seconds:.1f} s")
