"""
Recurrent sequence models as a population
=========================================

Which of four shapes is hidden in a noisy signal, at a random place and with a random
sign? The order of the samples is what tells them apart, so a logistic regression on
the raw time steps stays near chance while a recurrent network, reading the steps in
order, learns the task. This example trains a population of GRU and LSTM sequence
models (Caviar's built-in ``model.kind = "rnn"``) in two calls, then a module of our own
that uses ``torch.nn.GRU`` directly.
"""

# %%
# The data: 1,000 signals of 24 steps, four classes
# --------------------------------------------------
# ``make_signals`` returns ``X`` of shape ``(n, channels, length)``; ``prepare_arrays``
# splits it 60/20/20 and standardizes each channel on the training split.
import torch
from sklearn.linear_model import LogisticRegression

import caviar
from caviar.data import prepare_arrays
from caviar.data.synthetic import make_signals

torch.set_num_threads(2)
X, y = make_signals(1000, 24, n_classes=4, seed=0)
data = prepare_arrays(X, y, seed=0)
print("one example:", data.input_shape, "train / val / test:", len(data.X_train),
      len(data.X_val), len(data.X_test))  # fmt: skip

# %%
# A linear baseline
# -----------------
# One weight per time step cannot find a shape that moves and flips sign.
logistic = LogisticRegression(max_iter=2000).fit(data.X_train, data.y_train)
print(f"logistic regression: validation accuracy {logistic.score(data.X_val, data.y_val):.2f}")

# %%
# A population of recurrent models
# --------------------------------
# A list in a config is a grid: here two learning rates, trained as one population of
# GRUs and one of LSTMs (the cell is structural, so each cell is its own population).
config = {
    "data": {"source": "arrays"},
    "model": {"kind": "rnn", "cell": ["gru", "lstm"], "hidden_size": 24, "hidden": [],
              "output_init": "default"},
    "optimizer": {"name": "adam", "lr": [3e-3, 1e-2]},
    "train": {"epochs": 8, "batch_size": 32, "patience": None},
}  # fmt: skip
run = caviar.train(config, data=data)
for member in run.members:
    cfg = member.config
    print(f"{cfg.model.cell:>4}  lr {cfg.optimizer.lr:<6}  validation accuracy "
          f"{member.history['val_score'][-1]:.2f}")  # fmt: skip
print(f"best member's test accuracy: {run.test_score:.2f}")

# %%
# Your own module with torch's recurrent layers
# ---------------------------------------------
# ``nn.GRU`` cannot run on a whole population as it is; Caviar swaps it for its own
# ``caviar.nn.GRU`` (same arguments, parameter names and equations) when it builds the
# population. Its inter-layer dropout would use a fixed rate; ``caviar.nn.Dropout()``
# in the head takes each member's own ``model.dropout``.
from torch import nn  # noqa: E402

import caviar.nn  # noqa: E402


class LastStep(nn.Module):
    def __init__(self, channels: int, n_outputs: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(channels, 24, batch_first=True)
        self.drop = caviar.nn.Dropout()
        self.out = nn.Linear(24, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, C, L)
        _, h_n = self.rnn(x.transpose(1, 2))
        return self.out(self.drop(h_n[-1]))


def build(cfg: dict) -> nn.Module:
    return LastStep(cfg["input_shape"][0], cfg["n_outputs"])


own = caviar.train(
    {"data": {"source": "arrays"}, "model": {"dropout": [0.0, 0.2]},
     "optimizer": {"name": "adam", "lr": 1e-2},
     "train": {"epochs": 8, "batch_size": 32, "patience": None}},
    data=data, module=build,
)  # fmt: skip
for member in own.members:
    print(f"dropout {member.config.model.dropout}: validation accuracy "
          f"{member.history['val_score'][-1]:.2f}")  # fmt: skip
