"""User errors in caviar.optim raise CaviarError with a one-line message naming the problem."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from caviar.errors import CaviarError
from caviar.optim import OPTIMIZERS, make_optimizer

P = 5


def theta() -> torch.Tensor:
    return torch.zeros(P, 4, dtype=torch.float64, requires_grad=True)


def raises(name: str, match: str, **hypers: Any) -> str:
    with pytest.raises(CaviarError, match=match) as info:
        make_optimizer(name, [theta()], **hypers)
    msg = str(info.value)
    assert "\n" not in msg and msg.strip() == msg
    return msg


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_negative_learning_rate_names_value_and_member(name: str) -> None:
    msg = raises(name, "lr", lr=[0.1, 0.1, 0.1, -0.1, 0.1])
    assert "must be >= 0" in msg and "-0.1" in msg and "member 3" in msg


def test_scalar_bad_value_does_not_name_a_member() -> None:
    msg = raises("sgd", "lr", lr=-1.0)
    assert msg == "sgd: learning rate (lr) must be >= 0, got -1"


@pytest.mark.parametrize("beta", ["beta1", "beta2"])
@pytest.mark.parametrize("value", [1.0, 1.5, -0.1])
def test_adam_betas_must_be_in_unit_interval(beta: str, value: float) -> None:
    msg = raises("adam", beta, **{beta: value})
    assert "[0, 1)" in msg


@pytest.mark.parametrize(
    ("name", "hyper"),
    [
        ("momentum", "momentum"),
        ("velocity_momentum", "momentum"),
        ("nesterov", "momentum"),
        ("rmsprop", "rho"),
    ],
)
def test_momentum_like_hypers_must_be_in_unit_interval(name: str, hyper: str) -> None:
    raises(name, f"{hyper} must be in \\[0, 1\\), got 1", **{hyper: 1.0})


def test_dampening_must_be_in_closed_unit_interval() -> None:
    make_optimizer("momentum", [theta()], dampening=1.0)  # allowed, as in torch
    raises("momentum", "dampening must be in \\[0, 1\\], got 1.5", dampening=1.5)
    raises("momentum", "dampening must be in \\[0, 1\\], got -0.5", dampening=-0.5)


@pytest.mark.parametrize("name", ["adagrad", "rmsprop", "adam", "adamw"])
@pytest.mark.parametrize("eps", [0.0, -1e-8])
def test_eps_must_be_positive(name: str, eps: float) -> None:
    raises(name, "eps must be > 0", eps=eps)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_negative_weight_decay(name: str) -> None:
    raises(name, "weight_decay must be >= 0", weight_decay=-0.01)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_hyper(bad: float) -> None:
    raises("adam", "lr must be finite|lr\\) must be finite", lr=bad)


def test_wrong_number_of_member_values() -> None:
    msg = raises("adam", "lr has 3 values for a population of 5", lr=[0.1, 0.2, 0.3])
    assert msg.startswith("adam:")
    raises("sgd", "lr has 6 values", lr=torch.ones(6))


def test_non_numeric_hyper() -> None:
    raises("sgd", "lr must be a number", lr="fast")


def test_unknown_hyperparameter_lists_the_valid_ones() -> None:
    msg = raises("adam", "unknown hyperparameter 'momentum'", momentum=0.9)
    assert "lr, beta1, beta2, eps, weight_decay" in msg


def test_unknown_optimizer_name_lists_the_choices() -> None:
    with pytest.raises(CaviarError) as info:
        make_optimizer("foo", [theta()])
    assert str(info.value) == (
        "unknown optimizer 'foo' (choose from: sgd, momentum, velocity_momentum, nesterov, "
        "adagrad, rmsprop, adam, adamw)"
    )


def test_params_must_share_the_member_axis() -> None:
    with pytest.raises(CaviarError, match="member axis"):
        make_optimizer("sgd", [theta(), torch.zeros(P + 1, 2, dtype=torch.float64)])
    with pytest.raises(CaviarError, match="no parameters"):
        make_optimizer("sgd", [])


def test_step_and_copy_members_check_shapes() -> None:
    t = theta()
    opt = make_optimizer("adam", [t])
    t.grad = torch.ones_like(t)
    with pytest.raises(CaviarError, match="alive must have shape"):
        opt.step(alive=torch.ones(P + 1, dtype=torch.bool))
    with pytest.raises(CaviarError, match="lr_scale must have shape"):
        opt.step(lr_scale=torch.ones(2, dtype=torch.float64))
    with pytest.raises(CaviarError, match="as many sources as destinations"):
        opt.copy_members([0, 1], [2])
    with pytest.raises(CaviarError, match="out of range"):
        opt.copy_members([0], [P])
    with pytest.raises(CaviarError, match="repeat"):
        opt.copy_members([0, 0], [1, 2])


def test_load_state_dict_of_another_optimizer_is_refused() -> None:
    t = theta()
    sd = make_optimizer("adam", [t]).state_dict()
    with pytest.raises(CaviarError, match="state dict is for optimizer 'adam'"):
        make_optimizer("rmsprop", [t]).load_state_dict(sd)


def test_hyper_defaults_are_registered_for_every_optimizer() -> None:
    expected = {
        "sgd": {"lr": 1e-2, "weight_decay": 0.0},
        "momentum": {"lr": 1e-2, "momentum": 0.9, "dampening": 0.0, "weight_decay": 0.0},
        "velocity_momentum": {"lr": 1e-2, "momentum": 0.9, "weight_decay": 0.0},
        "nesterov": {"lr": 1e-2, "momentum": 0.9, "weight_decay": 0.0},
        "adagrad": {"lr": 1e-2, "eps": 1e-10, "weight_decay": 0.0},
        "rmsprop": {"lr": 1e-3, "rho": 0.9, "eps": 1e-7, "weight_decay": 0.0},
        "adam": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0},
        "adamw": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 1e-2},
    }
    assert {k: cls.hyper_defaults for k, cls in OPTIMIZERS.items()} == expected
    for name, defaults in expected.items():
        opt = make_optimizer(name, [theta()])
        for k, v in defaults.items():
            assert torch.equal(opt.hypers[k], torch.full((P,), v, dtype=torch.float64))
