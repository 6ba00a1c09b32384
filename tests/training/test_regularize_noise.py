"""Weight and input noise (:ref:`bg-noise`): one SGD step reproduced by hand.

The step's gradient is taken at the perturbed weights w + eps on the noisy inputs
x + eps_x, and the update applies to the clean weights: w <- w - lr grad.
"""

import torch

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.losses import get_loss
from caviar.nn import PopulationMLP
from caviar.nn import random as rnd
from caviar.nn.noise import input_noise, perturb_weights
from caviar.training.trainer import PopulationTrainer


def test_one_step_with_weight_and_input_noise_matches_the_formula():
    data = prepare_data("iris", seed=0)
    cfgs = expand_configs(
        {
            "data": {"source": "iris"},
            "model": {"hidden": [6], "activation": "tanh"},
            "optimizer": {"name": "sgd", "lr": 0.1},
            "train": {"epochs": 1, "batch_size": "full", "dtype": "float64", "seed": [3, 4]},
        }
    )
    cfgs[0].noise.weight, cfgs[0].noise.input = 0.0, 0.3
    cfgs[1].noise.weight, cfgs[1].noise.input = 0.2, 0.0
    trainer = PopulationTrainer(cfgs, data)
    flat0 = trainer.model.flat.detach().clone()
    trainer.train_epoch()

    net = PopulationMLP(trainer.model.sizes, 2, activation="tanh", dtype=torch.float64)
    with torch.no_grad():
        net.flat.copy_(flat0)
    seeds = torch.tensor([3, 4])
    n = trainer.n_train
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    x, y = trainer.tensors.x_train[perm], trainer.tensors.y_train[perm]
    sigma_in = torch.tensor([0.3, 0.0], dtype=torch.float64)
    sigma_w = torch.tensor([0.0, 0.2], dtype=torch.float64)
    xn = input_noise(x, sigma_in, seeds, 0, rnd.STREAM_INPUT_NOISE)
    assert torch.equal(xn[1], x)  # sigma 0: the inputs are untouched
    perturb_weights(net.weights(net.flat), sigma_w, seeds, 0)
    assert torch.equal(net.flat[0], flat0[0])  # sigma 0: the weights are untouched
    assert not torch.equal(net.flat[1], flat0[1])
    net.zero_grad()
    get_loss("cross_entropy").fn(net(xn), y).sum().backward()
    expected = flat0 - 0.1 * net.flat.grad
    torch.testing.assert_close(trainer.model.flat, expected, rtol=1e-12, atol=1e-12)


def test_input_noise_has_the_requested_spread():
    x = torch.zeros(400, 50, dtype=torch.float64)
    sigma = torch.tensor([0.0, 0.5, 2.0], dtype=torch.float64)
    out = input_noise(x, sigma, torch.tensor([1, 2, 3]), 0, rnd.STREAM_INPUT_NOISE)
    assert out.shape == (3, 400, 50)
    assert (out[0] == 0).all()
    for p in (1, 2):
        assert abs(out[p].std().item() / sigma[p].item() - 1) < 0.02
        assert abs(out[p].mean().item()) < 0.02 * sigma[p].item()
