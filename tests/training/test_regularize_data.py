"""Batch-size schedule, per-member sampling and augmentation (:ref:`bg-batch-size`,
:ref:`bg-augmentation`)."""

import math

import numpy as np
import pytest
import torch

from caviar.config import expand_configs
from caviar.data import prepare_arrays, prepare_data
from caviar.errors import CaviarError
from caviar.training.augment.image import affine_warp
from caviar.training.augment.interpolate import ClassPartners, interpolate
from caviar.training.batches import batch_bounds, batch_size_at, bootstrap_rows, member_orders
from caviar.training.trainer import PopulationTrainer


def test_batch_size_grows_with_epochs_up_to_the_cap():
    sizes = [batch_size_at(e, 8, 100, growth=2.0, every=2, cap=40) for e in range(8)]
    assert sizes == [8, 8, 16, 16, 32, 32, 40, 40]
    assert batch_size_at(5, 8, 20, growth=3.0) == 20  # never more than n


def test_batch_bounds_cover_every_row_and_avoid_single_row_batches():
    assert batch_bounds(10, 3) == [(0, 3), (3, 6), (6, 9), (9, 10)]
    assert batch_bounds(10, 3, no_single=True) == [(0, 3), (3, 6), (6, 10)]
    assert batch_bounds(9, 3, no_single=True) == [(0, 3), (3, 6), (6, 9)]


def test_trainer_takes_fewer_steps_as_batches_grow():
    data = prepare_data("iris", seed=0)
    (cfg,) = expand_configs(
        {
            "data": {"source": "iris"},
            "train": {"epochs": 4, "batch_size": 10, "batch_size_growth": 2.0, "patience": None},
        }
    )
    trainer = PopulationTrainer([cfg], data)
    trainer.run()
    n = len(data.X_train)
    assert trainer.global_step == sum(math.ceil(n / b) for b in (10, 20, 40, 80))


def test_member_orders_and_bootstrap_depend_on_the_member_seed_only():
    orders = member_orders(torch.tensor([5, 6]), 50, epoch=3)
    assert all(sorted(o.tolist()) == list(range(50)) for o in orders)
    assert torch.equal(orders[1], member_orders(torch.tensor([6]), 50, epoch=3)[0])
    assert not torch.equal(orders[0], orders[1])
    boot = bootstrap_rows(torch.tensor([1, 2, 3]), 200)
    assert boot.min() >= 0 and boot.max() < 200
    # a bootstrap sample holds about 1 - 1/e of the distinct rows
    distinct = [len(set(b.tolist())) / 200 for b in boot]
    assert all(abs(d - (1 - math.exp(-1))) < 0.08 for d in distinct)


def test_affine_warp_shifts_and_rotates_like_roll_and_rot90():
    img = torch.arange(16.0, dtype=torch.float64).reshape(1, 4, 4)
    zero = torch.zeros(1, dtype=torch.float64)
    one = torch.ones(1, dtype=torch.float64)
    shifted = affine_warp(img, zero, one, zero)  # one pixel to the right, zeros enter
    expected = torch.zeros_like(img)
    expected[:, :, 1:] = img[:, :, :-1]
    torch.testing.assert_close(shifted, expected)
    down = affine_warp(img, zero, zero, one)
    expected = torch.zeros_like(img)
    expected[:, 1:, :] = img[:, :-1, :]
    torch.testing.assert_close(down, expected)
    quarter = affine_warp(img, torch.full((1,), math.pi / 2, dtype=torch.float64), zero, zero)
    torch.testing.assert_close(quarter, torch.rot90(img, -1, (1, 2)))  # clockwise (y down)
    torch.testing.assert_close(affine_warp(img, zero, zero, zero), img)


def test_interpolation_stays_between_examples_of_the_same_class():
    x = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 5.0], [0.0, 6.0]], dtype=torch.float64)
    y = torch.tensor([0, 0, 1, 1])
    partners = ClassPartners(y, 2)
    xb = x[torch.tensor([0, 1, 2, 3] * 25)]
    yb = y[torch.tensor([0, 1, 2, 3] * 25)]
    strength = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    out = interpolate(xb, yb, x, partners, strength, torch.tensor([1, 2, 3]), counter=0)
    assert torch.equal(out[0], xb)
    for p in (1, 2):
        c0, c1 = out[p][yb == 0], out[p][yb == 1]
        assert (c0[:, 1] == 0).all() and (c0[:, 0] >= 0).all() and (c0[:, 0] <= 1).all()
        assert (c1[:, 0] == 0).all() and (c1[:, 1] >= 5).all() and (c1[:, 1] <= 6).all()
        assert (out[p] != xb).any()
    # strength 0.5: at most half way to the partner
    moved = (out[1] - xb).abs().max()
    assert moved <= 0.5 + 1e-12


def test_augmentations_need_the_right_data():
    X = np.random.default_rng(0).normal(size=(60, 3))
    reg = prepare_arrays(X, X[:, 0] * 2.0, task="regression")
    cls = prepare_arrays(X, (X[:, 0] > 0).astype(int))
    (interp,) = expand_configs({"data": {"source": "x"}, "augment": {"interpolate": 0.3}})
    with pytest.raises(CaviarError, match="needs a classification task"):
        PopulationTrainer([interp], reg)
    (shift,) = expand_configs({"data": {"source": "x"}, "augment": {"shift": 1.0}})
    with pytest.raises(CaviarError, match="need image-shaped data"):
        PopulationTrainer([shift], cls)


@pytest.mark.parametrize(
    ("section", "field", "value", "message"),
    [
        ("model", "dropout", 1.0, "model.dropout"),
        ("model", "input_dropout", -0.1, "model.input_dropout"),
        ("noise", "weight", -1.0, "noise.weight"),
        ("noise", "input", -0.5, "noise.input"),
        ("augment", "rotate", -3.0, "augment.rotate"),
        ("ensemble", "size", 0, "ensemble.size"),
    ],
)
def test_bad_values_are_one_line_errors(section, field, value, message):
    with pytest.raises(CaviarError, match=message) as e:
        expand_configs({"data": {"source": "iris"}, section: {field: value}})
    assert "\n" not in str(e.value)


def test_set_hyper_validates_new_rates():
    data = prepare_data("iris", seed=0)
    cfgs = expand_configs({"data": {"source": "iris"}, "model": {"dropout": [0.1, 0.2]}})
    trainer = PopulationTrainer(cfgs, data)
    trainer.set_hyper("regularize", "dropout", [0.3, 0.0])
    assert trainer.knobs.regularize["dropout"].tolist() == pytest.approx([0.3, 0.0])
    with pytest.raises(CaviarError, match=r"model.dropout must be in \[0, 1\)"):
        trainer.set_hyper("regularize", "dropout", [0.3, 1.0])
    assert trainer.knobs.regularize["dropout"].tolist() == pytest.approx([0.3, 0.0])
