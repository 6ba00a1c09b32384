"""The output prior (:ref:`bg-output-init`) with K independent sigmoids (binary
cross-entropy, K > 2)."""

import numpy as np
import torch

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.nn import output_bias
from caviar.training.trainer import PopulationTrainer


def test_sigmoid_prior_is_logit_of_each_class_frequency():
    y = np.array([0, 0, 0, 1, 2, 2])
    bias = output_bias(y, task="classification", n_outputs=3, sigmoid=True)
    p = np.array([0.5, 1 / 6, 1 / 3])
    np.testing.assert_allclose(bias, np.log(p / (1 - p)), rtol=1e-14)
    # every sigmoid then starts at its class frequency
    np.testing.assert_allclose(1 / (1 + np.exp(-bias)), p, rtol=1e-14)
    # softmax outputs keep log p
    np.testing.assert_allclose(output_bias(y, task="classification", n_outputs=3), np.log(p))


def test_trainer_uses_the_sigmoid_prior_for_binary_cross_entropy_on_iris():
    data = prepare_data("iris", seed=1)
    cfg = expand_configs(
        {
            "data": {"source": "iris"},
            "model": {"hidden": [4]},
            "loss": {"name": "binary_cross_entropy"},
            "train": {"epochs": 1, "dtype": "float64"},
        }
    )
    model = PopulationTrainer(cfg, data).model
    p = np.bincount(np.asarray(data.y_train), minlength=3) / len(data.y_train)
    out = model(torch.zeros(1, data.X_train.shape[1], dtype=torch.float64))
    torch.testing.assert_close(
        torch.sigmoid(out[0, 0]), torch.tensor(p, dtype=torch.float64), rtol=1e-12, atol=0
    )
