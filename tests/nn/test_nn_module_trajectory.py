"""A member of a generic module population follows the trajectory of the same module
trained alone by a plain ``torch.optim`` loop over the same batches (float64)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from caviar.config import expand_configs
from caviar.data import prepare_arrays
from caviar.nn.factory import register
from caviar.training.batches import batch_bounds
from caviar.training.trainer import PopulationTrainer

EPOCHS, BATCH = 3, 16


def small_cnn(cfg):
    c, length = cfg["input_shape"]
    return nn.Sequential(
        nn.Conv1d(c, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool1d(2),
        nn.Flatten(),
        nn.Linear(4 * (length // 2), cfg["n_outputs"]),
    )


def bn_cnn(cfg):
    c, length = cfg["input_shape"]
    return nn.Sequential(
        nn.Conv1d(c, 4, 3, padding=1, bias=False),
        nn.BatchNorm1d(4),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(4 * length, 8, bias=False),  # a bias before batch norm has gradient 0
        nn.BatchNorm1d(8),
        nn.ReLU(),
        nn.Linear(8, cfg["n_outputs"]),
    )


@pytest.fixture(scope="module")
def signals():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(120, 2, 12))
    y = (X[:, 0].mean(axis=1) > X[:, 1].mean(axis=1)).astype(int) + (X[:, 0, 0] > 1)
    return prepare_arrays(X, y, seed=0)


def configs(factory, optimizer: str, lrs, extra=None, l2=None):
    path = register(factory)
    raw = {
        "data": {"source": "arrays"},
        "model": {"kind": "module", "factory": path, "output_init": "default"},
        "optimizer": {"name": optimizer, "lr": lrs, **(extra or {})},
        "penalty": {"l2_kernel": l2 if l2 is not None else 0.0},
        "train": {
            "epochs": EPOCHS,
            "batch_size": BATCH,
            "dtype": "float64",
            "patience": None,
            "seed": [0, 1],
        },
    }
    return expand_configs(raw)


def torch_optimizer(name, params, lr, extra):
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=extra["momentum"])
    return torch.optim.Adam(params, lr=lr)


def reference(factory, data, cfg, trainer_shuffle_seed=0):
    """The member trained alone: its module from its seed, torch.optim, the same batches."""
    torch.manual_seed(cfg.train.seed)
    shape = list(data.input_shape)
    module = factory({"input_shape": shape, "n_outputs": 3}).double()
    opt = torch_optimizer(
        cfg.optimizer.name, module.parameters(), cfg.optimizer.lr, cfg.optimizer.model_dump()
    )
    lam = cfg.penalty.l2_kernel
    x = torch.as_tensor(data.X_train).view(-1, *shape)
    y = torch.as_tensor(data.y_train)
    gen = torch.Generator().manual_seed(trainer_shuffle_seed)
    bounds = batch_bounds(
        len(y), BATCH, no_single=any(isinstance(m, nn.BatchNorm1d) for m in module.modules())
    )
    snaps = []
    module.train()
    for _ in range(EPOCHS):
        perm = torch.randperm(len(y), generator=gen)
        for start, end in bounds:
            idx = perm[start:end]
            opt.zero_grad()
            loss = nn.functional.cross_entropy(module(x[idx]), y[idx])
            if lam:
                loss = loss + lam * sum((p**2).sum() for p in module.parameters() if p.dim() >= 2)
            loss.backward()
            opt.step()
        snaps.append(torch.cat([p.detach().reshape(-1) for p in module.parameters()]))
    return snaps, module


@pytest.mark.parametrize(
    "optimizer,extra", [("sgd", {}), ("momentum", {"momentum": 0.9}), ("adam", {})]
)
@pytest.mark.parametrize("factory", [small_cnn, bn_cnn], ids=["cnn", "cnn_batch_norm"])
def test_member_equals_module_trained_alone(signals, optimizer, extra, factory):
    cfgs = configs(factory, optimizer, [0.05, 0.01], extra, l2=[0.0, 1e-3])
    snaps: list[torch.Tensor] = []
    trainer = PopulationTrainer(
        cfgs,
        signals,
        callbacks=[lambda t: snaps.append(t.model.flat.detach().clone())],
        restore_best=False,
    )
    trainer.run()
    assert len(cfgs) == 8
    for p, cfg in enumerate(cfgs):
        ref, module = reference(factory, signals, cfg)
        for epoch in range(EPOCHS):
            torch.testing.assert_close(snaps[epoch][p], ref[epoch], rtol=1e-10, atol=1e-10)
        if factory is bn_cnn:  # running statistics follow the module's own
            own = torch.cat([b.reshape(-1) for n, b in module.named_buffers() if "running" in n])
            torch.testing.assert_close(trainer.model.stats[p], own, rtol=1e-10, atol=1e-10)
