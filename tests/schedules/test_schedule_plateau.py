"""Reduce-on-plateau (:ref:`bg-lr-schedules`) against torch.optim.lr_scheduler.ReduceLROnPlateau,
per member, and inside a training population."""

import numpy as np
import pytest
import torch

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.errors import CaviarError
from caviar.schedules import make_schedule
from member_invariance import assert_members_as_alone

F64 = torch.float64
MEMBERS = [  # (base lr, factor, patience, min_lr, threshold, cooldown)
    (0.1, 0.5, 2, 0.0, 1e-4, 0),
    (0.3, 0.1, 0, 1e-3, 1e-2, 1),
    (1.0, 0.7, 1, 0.2, 0.0, 2),
    (0.05, 0.5, 3, 0.0, 0.05, 0),
]


def torch_lrs(base, factor, patience, min_lr, threshold, cooldown, losses):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, factor=factor, patience=patience, min_lr=min_lr, threshold=threshold,
        cooldown=cooldown,
    )  # fmt: skip
    out = []
    for v in losses:
        sched.step(v)
        out.append(opt.param_groups[0]["lr"])
    return out


def test_each_member_follows_torch_reduce_lr_on_plateau():
    rng = np.random.default_rng(0)
    # noisy, stalling curves: a decrease then flat stretches and bumps
    losses = np.cumsum(rng.normal(-0.02, 0.05, size=(40, len(MEMBERS))), axis=0) + 2.0
    losses[15:25] = losses[15]  # an exact plateau
    cols = list(zip(*MEMBERS, strict=True))
    base = torch.tensor(cols[0], dtype=F64)
    s = make_schedule(
        "plateau", len(MEMBERS), dtype=F64, factor=list(cols[1]), patience=list(cols[2]),
        min_lr=list(cols[3]), threshold=list(cols[4]), cooldown=list(cols[5]),
    )  # fmt: skip
    alive = torch.ones(len(MEMBERS), dtype=torch.bool)
    ours = []
    for row in losses:
        s.observe(torch.tensor(row, dtype=F64), base, alive)
        ours.append((base * s(0.0)).tolist())
    ours = np.array(ours)
    for p, member in enumerate(MEMBERS):
        ref = torch_lrs(*member, losses[:, p].tolist())
        np.testing.assert_allclose(ours[:, p], ref, rtol=1e-13, atol=0)
        assert len(set(ref)) > 2  # the rate was cut more than once


def test_stopped_members_and_nan_losses_leave_the_state_alone():
    s = make_schedule("plateau", 2, dtype=F64, patience=0, factor=0.5)
    base = torch.ones(2, dtype=F64)
    s.observe(torch.tensor([1.0, 1.0], dtype=F64), base, torch.ones(2, dtype=torch.bool))
    s.observe(torch.tensor([2.0, float("nan")], dtype=F64), base, torch.tensor([False, True]))
    torch.testing.assert_close(s(0.0), torch.ones(2, dtype=F64))
    s.observe(torch.tensor([2.0, 2.0], dtype=F64), base, torch.ones(2, dtype=torch.bool))
    torch.testing.assert_close(s(0.0), torch.full((2,), 0.5, dtype=F64))


def test_bad_parameters_are_refused():
    with pytest.raises(CaviarError, match="factor"):
        make_schedule("plateau", 2, factor=0.0)
    with pytest.raises(CaviarError, match="patience"):
        make_schedule("plateau", 2, patience=[-1, 2])


@pytest.fixture(scope="module")
def iris():
    return prepare_data("iris", seed=1)


def test_training_members_follow_their_own_validation_curve(iris):
    configs = expand_configs(
        {
            "data": {"source": "iris"},
            "model": {"hidden": [8]},
            "optimizer": {"name": "sgd", "lr": [0.5, 0.2, 0.05]},
            "schedule": {"name": "plateau", "factor": 0.5, "patience": [0, 1, 2]},
            "train": {"epochs": 25, "batch_size": 16, "patience": None, "dtype": "float64"},
        }
    )
    result = assert_members_as_alone(configs, iris, members=(0, 2), keys=("val_loss", "lr"))
    cut = 0
    for m, cfg in zip(result.members, configs, strict=True):
        val = m.history["val_loss"]
        # the rate used in epoch e+1 is the one torch sets after seeing epochs 0..e
        ref = torch_lrs(cfg.optimizer.lr, 0.5, cfg.schedule.patience, 0.0, 1e-4, 0, val)
        np.testing.assert_allclose(m.history["lr"][1:], ref[:-1], rtol=1e-12)
        cut += m.history["lr"][-1] < cfg.optimizer.lr
    assert cut >= 2
