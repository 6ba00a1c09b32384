"""Transformer layers as populations (float64): each member of a population equals its
own torch module, a member trained in a population with its own dropout rate follows the
trajectory it follows alone (attention, residual and feed-forward dropout from its own
stream), torch's default ``nn.TransformerEncoderLayer(d, nhead)`` trains as a
population, and no batching-rule warning reaches the user."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import caviar.nn as cnn
from caviar.config import expand_configs
from caviar.data import prepare_arrays
from caviar.nn.dropout import DropoutPass
from caviar.nn.factory import register
from caviar.nn.module import PopulationModule
from caviar.training.trainer import PopulationTrainer

LENGTH, FEATURES, D = 6, 3, 8


class Classifier(nn.Module):
    """Tokens (L, F) -> linear embedding -> encoder -> mean over positions -> linear."""

    def __init__(self, encoder: nn.Module, k: int) -> None:
        super().__init__()
        self.embed, self.encoder, self.out = nn.Linear(FEATURES, D), encoder, nn.Linear(D, k)

    def forward(self, x):  # noqa: ANN001, ANN201
        return self.out(self.encoder(self.embed(x)).mean(dim=1))


def default_encoder(cfg):
    """torch's default layer (dropout 0.1, feed-forward 2048), batch first."""
    return Classifier(nn.TransformerEncoderLayer(D, 2, batch_first=True), cfg["n_outputs"])


def per_member_encoder(cfg):
    """caviar's layer with dropout=None: every dropout at the member's model.dropout."""
    layer = cnn.TransformerEncoderLayer(D, 2, 16, dropout=None, batch_first=True)
    return Classifier(layer, cfg["n_outputs"])


@pytest.fixture(scope="module")
def sequences():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(64, LENGTH, FEATURES))
    y = (X[:, :, 0].mean(axis=1) > X[:, -1, 1]).astype(int)
    return prepare_arrays(X, y, seed=2)


def configs(factory, members, epochs=3):
    path = register(factory)
    return [
        expand_configs(
            {
                "data": {"source": "arrays"},
                "model": {"kind": "module", "factory": path, "dropout": m["dropout"]},
                "optimizer": {"name": "adam", "lr": m["lr"]},
                "train": {
                    "epochs": epochs,
                    "batch_size": 16,
                    "dtype": "float64",
                    "seed": m["seed"],
                    "patience": None,
                },
            }
        )[0]
        for m in members
    ]


MEMBERS = [
    {"lr": 1e-2, "dropout": 0.0, "seed": 0},
    {"lr": 3e-3, "dropout": 0.3, "seed": 1},
    {"lr": 2e-2, "dropout": 0.1, "seed": 2},
]


def no_warnings():
    """Every warning an error, except the one caviar silences for its own layout (flat
    parameter rows as gradient leaves, :mod:`caviar.nn.mlp`)."""
    warnings.simplefilter("error")
    warnings.filterwarnings("ignore", message="grad and param do not obey the gradient layout")


def train(cfgs, data):
    with warnings.catch_warnings():
        no_warnings()  # no batching-rule or other warning reaches the user
        return PopulationTrainer(cfgs, data, restore_best=False).run()


def test_member_with_per_member_dropout_equals_itself_alone(sequences):
    together = train(configs(per_member_encoder, MEMBERS), sequences)
    for p, m in enumerate(MEMBERS):
        alone = train(configs(per_member_encoder, [m]), sequences)
        for key in ("val_loss", "train_loss"):
            np.testing.assert_allclose(
                together.members[p].history[key], alone.members[0].history[key], rtol=1e-10
            )
    # the rates are really per member: the same member without dropout trains differently
    plain = train(configs(per_member_encoder, [{**MEMBERS[1], "dropout": 0.0}]), sequences)
    assert not np.allclose(
        plain.members[0].history["train_loss"], together.members[1].history["train_loss"]
    )


def test_default_torch_encoder_layer_trains_as_a_population(sequences):
    members = [{**m, "dropout": 0.0} for m in MEMBERS[:2]]  # the layer's own 0.1 applies
    result = train(configs(default_encoder, members), sequences)
    for p in range(2):
        alone = train(configs(default_encoder, [members[p]]), sequences)
        np.testing.assert_allclose(
            result.members[p].history["val_loss"],
            alone.members[0].history["val_loss"],
            rtol=1e-10,
        )
        losses = result.members[p].history["train_loss"]
        assert all(np.isfinite(losses))


def _members(rates):
    torch.manual_seed(0)
    return [
        Classifier(nn.TransformerEncoderLayer(D, 2, 16, rate, batch_first=True), 2).double()
        for rate in rates
    ]


def test_population_outputs_equal_each_members_torch_module():
    members = _members([0.1, 0.2, 0.0])
    ref = [copy.deepcopy(m).eval() for m in members]
    pop = PopulationModule(members, (LENGTH, FEATURES), dtype=torch.float64)
    x = torch.randn(5, LENGTH * FEATURES, dtype=torch.float64)
    with warnings.catch_warnings():
        no_warnings()
        out = pop(x)
    for p, m in enumerate(ref):
        with torch.no_grad():
            torch.testing.assert_close(
                out[p], m(x.view(5, LENGTH, FEATURES)), rtol=1e-10, atol=1e-12
            )


def test_fixed_rates_differ_per_member_in_one_population():
    """Each member keeps its own module's rates (0.1, 0.2, 0): its training pass equals
    the pass of a population holding that member alone."""
    members = _members([0.1, 0.2, 0.0])
    pop = PopulationModule(
        [copy.deepcopy(m) for m in members], (LENGTH, FEATURES), dtype=torch.float64
    )
    x = torch.randn(5, LENGTH * FEATURES, dtype=torch.float64)
    seeds = torch.tensor([4, 5, 6])
    with warnings.catch_warnings():
        no_warnings()
        out = pop(x, dropout=DropoutPass(seeds, 7))
        out.square().sum().backward()
    grads = pop.flat.grad.clone()
    for p in range(3):
        one = PopulationModule([copy.deepcopy(members[p])], (LENGTH, FEATURES), dtype=torch.float64)
        alone = one(x, dropout=DropoutPass(seeds[p : p + 1], 7))
        alone.square().sum().backward()
        torch.testing.assert_close(out[p], alone[0], rtol=1e-10, atol=1e-12)
        torch.testing.assert_close(grads[p], one.flat.grad[0], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(out[2], pop(x)[2], rtol=1e-10, atol=1e-12)  # rate 0
    assert not torch.allclose(out[0], pop(x)[0])  # rate 0.1: dropout changed member 0


def test_full_transformer_runs_as_a_population():
    class Seq2Seq(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Linear(FEATURES, D)
            self.model = nn.Transformer(D, 2, 1, 1, 16, batch_first=True)
            self.out = nn.Linear(D, 2)

        def forward(self, x):  # noqa: ANN001, ANN201
            h = self.embed(x)
            mask = nn.Transformer.generate_square_subsequent_mask(LENGTH, dtype=h.dtype)
            return self.out(self.model(h, h, tgt_mask=mask, tgt_is_causal=True)[:, -1])

    torch.manual_seed(1)
    members = [Seq2Seq().double() for _ in range(2)]
    ref = [copy.deepcopy(m).eval() for m in members]
    pop = PopulationModule(members, (LENGTH, FEATURES), dtype=torch.float64)
    x = torch.randn(4, LENGTH * FEATURES, dtype=torch.float64)
    with warnings.catch_warnings():
        no_warnings()
        out = pop(x)
        pop(x, dropout=DropoutPass(torch.tensor([1, 2]), 0)).sum().backward()
    for p, m in enumerate(ref):
        with torch.no_grad():
            torch.testing.assert_close(
                out[p], m(x.view(4, LENGTH, FEATURES)), rtol=1e-10, atol=1e-12
            )


def test_evaluating_some_rows_needs_equal_rates():
    from caviar.errors import CaviarError

    pop = PopulationModule(_members([0.1, 0.2]), (LENGTH, FEATURES), dtype=torch.float64)
    x = torch.randn(2, LENGTH * FEATURES, dtype=torch.float64)
    with pytest.raises(CaviarError, match="the members' dropout rates differ"):
        pop(x, flat=pop.flat[:1], dropout=DropoutPass(torch.tensor([1]), 0))
    same = PopulationModule(_members([0.1, 0.1]), (LENGTH, FEATURES), dtype=torch.float64)
    assert same(x, flat=same.flat[:1], dropout=DropoutPass(torch.tensor([1]), 0)).shape[0] == 1


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_transformer_population_on_cuda_equals_cpu():
    members = _members([0.1, 0.0])
    cpu = PopulationModule(
        [copy.deepcopy(m) for m in members], (LENGTH, FEATURES), dtype=torch.float64
    )
    gpu = PopulationModule(members, (LENGTH, FEATURES), dtype=torch.float64, device="cuda")
    x = torch.randn(4, LENGTH * FEATURES, dtype=torch.float64)
    seeds = torch.tensor([3, 4])
    a = cpu(x, dropout=DropoutPass(seeds, 2))
    b = gpu(x.cuda(), dropout=DropoutPass(seeds.cuda(), 2))
    torch.testing.assert_close(b.cpu(), a, rtol=1e-9, atol=1e-11)
