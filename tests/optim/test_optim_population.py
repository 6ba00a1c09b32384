"""Population mechanics of caviar.optim: alive mask, lr_scale, copy_members, state dicts."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from optim_problem import DTYPE, init_params, make_data, population_grad

from caviar.errors import CaviarError
from caviar.optim import OPTIMIZERS, PopulationOptimizer, make_optimizer

P = 5
EXACT = {"rtol": 0.0, "atol": 0.0}

# Different hyperparameters for every member (and a nonzero decay for most).
WD = [0.0, 0.01, 0.1, 0.05, 0.2]
HYPERS: dict[str, dict[str, Any]] = {
    "sgd": {"lr": [0.05, 0.1, 0.02, 0.15, 0.08], "weight_decay": WD},
    "momentum": {
        "lr": [0.05, 0.1, 0.02, 0.15, 0.08],
        "momentum": [0.0, 0.5, 0.9, 0.8, 0.95],
        "dampening": [0.0, 0.1, 0.5, 0.0, 0.9],
        "weight_decay": WD,
    },
    "velocity_momentum": {
        "lr": [0.05, 0.1, 0.02, 0.15, 0.08],
        "momentum": [0.0, 0.5, 0.9, 0.8, 0.95],
        "weight_decay": WD,
    },
    "nesterov": {
        "lr": [0.05, 0.1, 0.02, 0.15, 0.08],
        "momentum": [0.5, 0.9, 0.8, 0.95, 0.3],
        "weight_decay": WD,
    },
    "adagrad": {"lr": [0.05, 0.1, 0.2, 0.3, 0.15], "eps": [1e-10, 1e-8, 1e-6, 1e-3, 1e-1]},
    "rmsprop": {
        "lr": [0.01, 0.003, 0.02, 0.005, 0.001],
        "rho": [0.9, 0.99, 0.5, 0.8, 0.3],
        "eps": [1e-8, 1e-6, 1e-3, 1e-2, 1e-7],
        "weight_decay": WD,
    },
    "adam": {
        "lr": [0.01, 0.003, 0.03, 0.005, 0.001],
        "beta1": [0.9, 0.0, 0.5, 0.95, 0.8],
        "beta2": [0.999, 0.9, 0.99, 0.5, 0.3],
        "eps": [1e-8, 1e-6, 1e-3, 1e-2, 1e-7],
        "weight_decay": WD,
    },
    "adamw": {"lr": [0.01, 0.003, 0.03, 0.005, 0.001]},
}
NAMES = list(OPTIMIZERS)


def test_every_registered_optimizer_has_test_hypers() -> None:
    assert set(HYPERS) == set(OPTIMIZERS)


def build(name: str, theta: torch.Tensor, **overrides: Any) -> PopulationOptimizer:
    return make_optimizer(name, [theta], **{**HYPERS[name], **overrides})


def snapshot(theta: torch.Tensor, opt: PopulationOptimizer) -> dict[str, torch.Tensor]:
    snap = {"param": theta.detach().clone()}
    for k, v in opt.state[0].items():
        snap[k] = v.clone()
    return snap


def assert_rows_equal(
    a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], rows: list[int], what: str
) -> None:
    for k in a:
        torch.testing.assert_close(a[k][rows], b[k][rows], **EXACT, msg=f"{what}: {k} {rows}")


# --------------------------------------------------------------------- alive


@pytest.mark.parametrize("frozen", [[2], [0, 1, 3, 4]], ids=["one_frozen", "most_frozen"])
@pytest.mark.parametrize("name", NAMES)
def test_frozen_members_are_untouched_and_resume_as_if_paused(name: str, frozen: list[int]) -> None:
    """Members in ``frozen`` are not alive during steps [5, 15) and get NaN gradients then.

    Run A (masked) is compared with run B (no mask, every step) on the alive
    members, and with run C (every member skips steps [5, 15) entirely) on the
    frozen ones: frozen members keep their parameters, state and step counters
    bitwise, and afterwards continue exactly as if the frozen steps never happened.
    """
    steps, start, stop = 25, 5, 15
    x, y = make_data(steps)
    theta0 = init_params(P)
    thetas = [theta0.clone().requires_grad_() for _ in range(3)]
    opts = [build(name, th) for th in thetas]
    alive_rows = [i for i in range(P) if i not in frozen]
    alive = torch.ones(P, dtype=torch.bool)
    alive[frozen] = False

    for s in range(steps):
        in_window = start <= s < stop
        for th in thetas:
            population_grad(th, x[s], y[s])
        before = snapshot(thetas[0], opts[0]) if s > 0 else None
        if in_window:
            thetas[0].grad[frozen] = float("nan")
            opts[0].step(alive=alive)
        else:
            opts[0].step(alive=torch.ones(P, dtype=torch.bool) if s % 2 else None)
        opts[1].step()
        if not in_window:
            opts[2].step()
        a, b, c = (snapshot(th, o) for th, o in zip(thetas, opts, strict=True))
        assert torch.isfinite(a["param"]).all()
        assert_rows_equal(a, b, alive_rows, f"alive members differ from unmasked run at {s}")
        if in_window and before is not None:
            assert_rows_equal(a, before, frozen, f"frozen members changed at step {s}")
        if not in_window:
            assert_rows_equal(a, c, frozen, f"resumed members differ from paused run at {s}")


@pytest.mark.parametrize("name", ["adam", "momentum"])
def test_all_dead_population_step_is_a_no_op(name: str) -> None:
    x, y = make_data(3)
    theta = init_params(P).requires_grad_()
    opt = build(name, theta)
    population_grad(theta, x[0], y[0])
    opt.step()
    before = snapshot(theta, opt)
    population_grad(theta, x[1], y[1])
    theta.grad.fill_(float("nan"))
    opt.step(alive=torch.zeros(P, dtype=torch.bool))
    assert_rows_equal(snapshot(theta, opt), before, list(range(P)), "dead population changed")


# ------------------------------------------------------------------ lr_scale


@pytest.mark.parametrize("name", NAMES)
def test_lr_scale_equals_scaled_learning_rate(name: str) -> None:
    steps = 20
    x, y = make_data(steps)
    theta0 = init_params(P)
    scale = torch.tensor([0.5, 2.0, 1.0, 0.1, 0.0], dtype=DTYPE)
    a = theta0.clone().requires_grad_()
    b = theta0.clone().requires_grad_()
    opt_a = build(name, a)
    opt_b = build(name, b, lr=torch.tensor(HYPERS[name]["lr"], dtype=DTYPE) * scale)
    for s in range(steps):
        population_grad(a, x[s], y[s])
        population_grad(b, x[s], y[s])
        opt_a.step(lr_scale=scale)
        opt_b.step()
        torch.testing.assert_close(a.detach(), b.detach(), **EXACT)
    # lr_scale = 0 (member 4) leaves the member in place, decay included.
    torch.testing.assert_close(a[4].detach(), theta0[4], **EXACT)


def test_float_lr_scale_is_shared_by_all_members() -> None:
    x, y = make_data(1)
    a = init_params(P).requires_grad_()
    b = a.detach().clone().requires_grad_()
    opt_a = build("momentum", a)
    opt_b = build("momentum", b)
    population_grad(a, x[0], y[0])
    population_grad(b, x[0], y[0])
    opt_a.step(lr_scale=0.3)
    opt_b.step(lr_scale=torch.full((P,), 0.3, dtype=DTYPE))
    torch.testing.assert_close(a.detach(), b.detach(), **EXACT)


# -------------------------------------------------------------- copy_members


@pytest.mark.parametrize("name", NAMES)
def test_copy_members_continues_exactly_as_the_source(name: str) -> None:
    steps = 24
    x, y = make_data(steps)
    theta = init_params(P).requires_grad_()
    opt = build(name, theta)
    # Member 1 misses some steps, so step counters differ across members.
    alive = torch.tensor([True, False, True, True, True])
    for s in range(12):
        population_grad(theta, x[s], y[s])
        opt.step(alive=alive if s < 4 else None)
    assert int(opt.state[0]["step"][1]) == 8 and int(opt.state[0]["step"][2]) == 12

    hypers_before = {k: v.clone() for k, v in opt.hypers.items()}
    state_before = {k: v.clone() for k, v in opt.state[0].items()}
    dst, src = [0, 3, 1], [2, 2, 4]
    opt.copy_members(torch.tensor(dst), torch.tensor(src))
    for k, v in opt.hypers.items():  # hypers are NOT copied
        torch.testing.assert_close(v, hypers_before[k], **EXACT)
    for k, v in opt.state[0].items():
        torch.testing.assert_close(v[dst], state_before[k][src], **EXACT)
        torch.testing.assert_close(v[[2, 4]], state_before[k][[2, 4]], **EXACT)

    # PBT "exploit": the trainer copies parameters and hyperparameters itself.
    with torch.no_grad():
        theta[dst] = theta[src]
        for v in opt.hypers.values():
            v[dst] = v[src]
    for s in range(12, steps):
        population_grad(theta, x[s], y[s])
        opt.step()
        for d, sr in zip(dst, src, strict=True):
            torch.testing.assert_close(theta[d].detach(), theta[sr].detach(), **EXACT)
            for v in opt.state[0].values():
                torch.testing.assert_close(v[d], v[sr], **EXACT)


def test_copy_members_with_overlapping_indices_swaps_state() -> None:
    x, y = make_data(5)
    theta = init_params(P).requires_grad_()
    opt = build("adam", theta)
    for s in range(5):
        population_grad(theta, x[s], y[s])
        opt.step()
    before = {k: v.clone() for k, v in opt.state[0].items()}
    opt.copy_members([1, 4], [4, 1])
    for k, v in opt.state[0].items():
        torch.testing.assert_close(v[[1, 4]], before[k][[4, 1]], **EXACT)


# ----------------------------------------------------------- hypers & state


def test_hypers_are_mutable_per_member() -> None:
    x, y = make_data(2)
    theta = init_params(P).requires_grad_()
    opt = build("sgd", theta, weight_decay=0.1)
    opt.hypers["lr"][3] = 0.0
    start = theta.detach().clone()
    population_grad(theta, x[0], y[0])
    opt.step()
    torch.testing.assert_close(theta[3].detach(), start[3], **EXACT)
    assert (theta[[0, 1, 2, 4]] != start[[0, 1, 2, 4]]).any(dim=1).all()


def test_hypers_are_member_tensors_in_param_dtype() -> None:
    theta32 = torch.zeros(P, 7, requires_grad=True)
    opt = make_optimizer("adam", [theta32], lr=[1e-3, 2e-3, 3e-3, 4e-3, 5e-3])
    assert set(opt.hypers) == set(type(opt).hyper_defaults)
    for v in opt.hypers.values():
        assert v.shape == (P,) and v.dtype == torch.float32
    theta32.grad = torch.randn(P, 7)
    opt.step()
    assert opt.state[0]["exp_avg"].dtype == torch.float32
    assert opt.state[0]["step"].dtype == torch.int64


@pytest.mark.parametrize("name", NAMES)
def test_state_dict_round_trip_continues_identically(name: str) -> None:
    steps = 16
    x, y = make_data(steps)
    a = init_params(P).requires_grad_()
    opt_a = build(name, a)
    for s in range(8):
        population_grad(a, x[s], y[s])
        opt_a.step(alive=torch.tensor([True, True, s % 2 == 0, True, True]))
    saved = opt_a.state_dict()
    b = a.detach().clone().requires_grad_()
    opt_b = make_optimizer(name, [b])  # default hypers: loaded from the state dict
    opt_b.load_state_dict(saved)
    # The snapshot is a copy, not a view of the live state.
    opt_a.state[0]["step"].add_(0)
    assert saved["state"][0]["step"] is not opt_a.state[0]["step"]
    for s in range(8, steps):
        population_grad(a, x[s], y[s])
        population_grad(b, x[s], y[s])
        opt_a.step()
        opt_b.step()
        torch.testing.assert_close(a.detach(), b.detach(), **EXACT)


def test_params_without_grad_are_skipped_and_lists_of_params_work() -> None:
    w = torch.ones(P, 2, 3, dtype=DTYPE, requires_grad=True)
    b = torch.ones(P, 4, dtype=DTYPE, requires_grad=True)
    opt = make_optimizer("adam", [w, b], lr=0.1)
    w.grad = torch.ones_like(w)
    opt.step()
    assert torch.equal(b.detach(), torch.ones(P, 4, dtype=DTYPE))
    assert opt.state[1] == {}
    torch.testing.assert_close(w.detach(), torch.full_like(w, 0.9))  # Adam's first step is lr
    assert opt.state[0]["exp_avg"].shape == (P, 2, 3)


def test_set_hyper_validates_and_keeps_the_tensor() -> None:
    theta = init_params(P).requires_grad_()
    opt = build("adam", theta)
    lr = opt.hypers["lr"]
    opt.set_hyper("lr", 0.5)
    assert lr is opt.hypers["lr"] and torch.equal(lr, torch.full((P,), 0.5, dtype=DTYPE))
    with pytest.raises(CaviarError, match="beta2"):
        opt.set_hyper("beta2", [0.9, 0.9, 1.5, 0.9, 0.9])
    expected = torch.tensor(HYPERS["adam"]["beta2"], dtype=DTYPE)
    assert torch.equal(opt.hypers["beta2"], expected)  # unchanged after the failed update
