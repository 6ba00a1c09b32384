"""Conformance of caviar.optim against torch.optim and against the update rules
of the background page written out in numpy.

The conformance table runs a population of P=5 members, each with DIFFERENT
hyperparameters, on a small nonconvex problem (tiny tanh MLPs, fresh minibatch
every step) and checks member i's whole trajectory against a separate
``torch.optim`` run with member i's hyperparameters (float64, rtol 1e-10).
Adding an optimizer = adding one row.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch
from optim_problem import DTYPE, init_params, loss, make_data, population_grad

from caviar.optim import make_optimizer

P = 5
STEPS = 60
RTOL, ATOL = 1e-10, 1e-12

TorchFactory = Callable[[torch.Tensor, dict[str, float]], torch.optim.Optimizer]


@dataclass(frozen=True)
class Row:
    """One optimizer checked against torch.optim.

    hypers: per-member values (lists of length P) passed to caviar.
    torch_opt: builds the reference for one member from that member's hypers.
    manual_decay: the reference applies decoupled decay by hand before its step
        (``p *= 1 - lr*wd``; exactly what torch.optim.AdamW does internally),
        for torch optimizers that have no decoupled decay.
    zero_buffer: pre-set torch's momentum buffer to zeros (see Momentum docs).
    constant_lr_only: the equivalence only holds at constant learning rate.
    state_map: caviar state name -> (torch state name, transform of torch value
        given the member's effective lr).
    """

    id: str
    name: str
    hypers: dict[str, list[float]]
    torch_opt: TorchFactory
    options: dict[str, Any] = field(default_factory=dict)
    manual_decay: bool = True
    zero_buffer: bool = False
    constant_lr_only: bool = False
    state_map: dict[str, tuple[str, Callable[[torch.Tensor, float], torch.Tensor]]] = field(
        default_factory=dict
    )


def same(v: torch.Tensor, lr: float) -> torch.Tensor:
    return v


LR = [0.05, 0.1, 0.02, 0.15, 0.08]
WD = [0.0, 0.01, 0.1, 0.05, 0.3]

ROWS = [
    Row(
        "sgd",
        "sgd",
        {"lr": LR, "weight_decay": WD},
        lambda p, h: torch.optim.SGD([p], lr=h["lr"]),
    ),
    Row(
        "momentum",
        "momentum",
        {
            "lr": LR,
            "momentum": [0.0, 0.5, 0.9, 0.8, 0.95],
            # torch ignores dampening when momentum == 0, so member 0 keeps 0.
            "dampening": [0.0, 0.0, 0.5, 0.9, 0.1],
            "weight_decay": WD,
        },
        lambda p, h: torch.optim.SGD(
            [p], lr=h["lr"], momentum=h["momentum"], dampening=h["dampening"]
        ),
        zero_buffer=True,
        state_map={"momentum_buffer": ("momentum_buffer", same)},
    ),
    Row(
        # v = -eta V: at constant eta, the velocity form (:ref:`bg-momentum`) follows torch's SGD.
        "velocity_momentum",
        "velocity_momentum",
        {"lr": LR, "momentum": [0.0, 0.5, 0.9, 0.8, 0.95], "weight_decay": WD},
        lambda p, h: torch.optim.SGD([p], lr=h["lr"], momentum=h["momentum"]),
        constant_lr_only=True,
        state_map={"velocity": ("momentum_buffer", lambda v, lr: -lr * v)},
    ),
    Row(
        "nesterov",
        "nesterov",
        {"lr": LR, "momentum": [0.5, 0.9, 0.8, 0.95, 0.3], "weight_decay": WD},
        lambda p, h: torch.optim.SGD([p], lr=h["lr"], momentum=h["momentum"], nesterov=True),
        state_map={"momentum_buffer": ("momentum_buffer", same)},
    ),
    Row(
        "adagrad",
        "adagrad",
        {
            "lr": [0.05, 0.1, 0.2, 0.3, 0.15],
            "eps": [1e-10, 1e-8, 1e-6, 1e-3, 1e-1],
            "weight_decay": WD,
        },
        lambda p, h: torch.optim.Adagrad([p], lr=h["lr"], eps=h["eps"]),
        state_map={"sum": ("sum", same)},
    ),
    Row(
        "rmsprop_torch",
        "rmsprop",
        {
            "lr": [0.01, 0.003, 0.02, 0.005, 0.001],
            "rho": [0.9, 0.99, 0.5, 0.8, 0.0],
            "eps": [1e-8, 1e-6, 1e-3, 1e-2, 1e-7],
            "weight_decay": WD,
        },
        lambda p, h: torch.optim.RMSprop([p], lr=h["lr"], alpha=h["rho"], eps=h["eps"]),
        options={"eps_inside_sqrt": False},
        state_map={"square_avg": ("square_avg", same)},
    ),
    Row(
        "adam",
        "adam",
        {
            "lr": [0.01, 0.003, 0.03, 0.005, 0.001],
            "beta1": [0.9, 0.0, 0.5, 0.95, 0.8],
            # (beta2 = 0 makes the update s/(|g| + eps): chaotic for tiny g and eps.)
            "beta2": [0.999, 0.9, 0.99, 0.5, 0.3],
            "eps": [1e-8, 1e-6, 1e-3, 1e-2, 1e-7],
        },
        lambda p, h: torch.optim.Adam(
            [p], lr=h["lr"], betas=(h["beta1"], h["beta2"]), eps=h["eps"]
        ),
        manual_decay=False,
        state_map={"exp_avg": ("exp_avg", same), "exp_avg_sq": ("exp_avg_sq", same)},
    ),
    Row(
        # Adam + weight_decay is exactly torch.optim.AdamW (no manual decay in the reference).
        "adam_weight_decay_is_adamw",
        "adam",
        {
            "lr": [0.01, 0.003, 0.03, 0.005, 0.001],
            "beta1": [0.9, 0.0, 0.5, 0.95, 0.8],
            "beta2": [0.999, 0.9, 0.99, 0.5, 0.3],
            "eps": [1e-8, 1e-6, 1e-3, 1e-2, 1e-7],
            "weight_decay": [0.0, 0.01, 0.5, 2.0, 0.1],
        },
        lambda p, h: torch.optim.AdamW(
            [p],
            lr=h["lr"],
            betas=(h["beta1"], h["beta2"]),
            eps=h["eps"],
            weight_decay=h["weight_decay"],
        ),
        manual_decay=False,
        state_map={"exp_avg": ("exp_avg", same), "exp_avg_sq": ("exp_avg_sq", same)},
    ),
    Row(
        # The "adamw" name: torch.optim.AdamW with its default weight_decay=0.01.
        "adamw_defaults",
        "adamw",
        {"lr": [0.01, 0.003, 0.03, 0.005, 0.001]},
        lambda p, h: torch.optim.AdamW([p], lr=h["lr"]),
        manual_decay=False,
    ),
]


def member_hypers(row: Row, i: int) -> dict[str, float]:
    return {k: v[i] for k, v in row.hypers.items()}


def lr_scales(steps: int, schedule: bool) -> torch.Tensor:
    """``(steps, P)`` lr multipliers: ones, or a per-member step/oscillating schedule."""
    if not schedule:
        return torch.ones(steps, P, dtype=DTYPE)
    t = torch.arange(steps, dtype=DTYPE).unsqueeze(1)
    k = torch.tensor([5.0, 10.0, 20.0, 7.0, 13.0], dtype=DTYPE)
    return 0.5 ** torch.floor(t / k) * (1.0 + 0.3 * torch.sin(t * (1 + torch.arange(P))))


CASES = [
    pytest.param(row, schedule, id=f"{row.id}-{'lr_schedule' if schedule else 'constant_lr'}")
    for row in ROWS
    for schedule in (False, True)
    # The velocity convention differs from torch's when the lr changes (tested below).
    if not (schedule and row.constant_lr_only)
]


@pytest.mark.parametrize(("row", "schedule"), CASES)
def test_matches_torch_per_member(row: Row, schedule: bool) -> None:
    x, y = make_data(STEPS)
    theta0 = init_params(P)
    scales = lr_scales(STEPS, schedule)

    theta = theta0.clone().requires_grad_()
    opt = make_optimizer(row.name, [theta], **row.hypers, **row.options)

    refs: list[tuple[torch.Tensor, torch.optim.Optimizer, dict[str, float]]] = []
    for i in range(P):
        p = theta0[i].clone().requires_grad_()
        h = member_hypers(row, i)
        ref = row.torch_opt(p, h)
        if row.zero_buffer:
            ref.state[p]["momentum_buffer"] = torch.zeros_like(p)
        refs.append((p, ref, h))
    base_lr = [ref.param_groups[0]["lr"] for _, ref, _ in refs]

    for s in range(STEPS):
        population_grad(theta, x[s], y[s])
        opt.step(lr_scale=scales[s] if schedule else None)
        for i, (p, ref, h) in enumerate(refs):
            lr_i = base_lr[i] * float(scales[s, i])
            ref.param_groups[0]["lr"] = lr_i
            ref.zero_grad()
            loss(p, x[s], y[s]).backward()
            if row.manual_decay and h.get("weight_decay", 0.0):
                with torch.no_grad():
                    p.mul_(1.0 - lr_i * h["weight_decay"])
            ref.step()
            torch.testing.assert_close(
                theta[i].detach(), p.detach(), rtol=RTOL, atol=ATOL, msg=f"member {i} step {s}"
            )

    state = opt.state[0]
    assert torch.equal(state["step"], torch.full((P,), STEPS))
    for ours, (theirs, transform) in row.state_map.items():
        for i, (p, ref, _) in enumerate(refs):
            if theirs not in ref.state[p] or row.hypers.get("momentum", [1.0] * P)[i] == 0:
                continue  # torch keeps no momentum buffer when momentum == 0
            lr_i = base_lr[i] * float(scales[-1, i])
            expected = transform(ref.state[p][theirs], lr_i)
            torch.testing.assert_close(state[ours][i], expected, rtol=RTOL, atol=ATOL)
    # The members really followed different trajectories.
    assert not torch.allclose(theta[0], theta[1])


# --------------------------------------------------------------------------
# Seed pseudo-code in numpy: f(theta) = sum(a theta^2 / 2 + sin(b theta)).
# --------------------------------------------------------------------------

N_SEED = 6


def seed_problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    a = rng.uniform(0.2, 2.0, size=(P, N_SEED))
    b = rng.uniform(0.5, 3.0, size=(P, N_SEED))
    theta0 = rng.normal(size=(P, N_SEED))
    return a, b, theta0


def seed_grad(theta: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a * theta + b * np.cos(b * theta)


def run_caviar(
    name: str,
    hypers: dict[str, Any],
    steps: int,
    lr_scale: Callable[[int], torch.Tensor | None] = lambda s: None,
    **options: Any,
) -> list[np.ndarray]:
    """Trajectory of caviar's optimizer on :func:`seed_problem` (gradients set by hand)."""
    a, b, theta0 = seed_problem()
    at, bt = torch.from_numpy(a), torch.from_numpy(b)
    theta = torch.from_numpy(theta0.copy()).requires_grad_()
    opt = make_optimizer(name, [theta], **hypers, **options)
    out = []
    for s in range(steps):
        with torch.no_grad():
            theta.grad = at * theta + bt * torch.cos(bt * theta)
        opt.step(lr_scale=lr_scale(s))
        out.append(theta.detach().numpy().copy())
    return out


def test_rmsprop_eps_inside_sqrt_matches_numpy_pseudocode() -> None:
    lr = np.array([0.01, 0.05, 0.002, 0.02, 0.1])
    rho = np.array([0.9, 0.99, 0.5, 0.0, 0.8])
    eps = np.array([1e-7, 1e-3, 1e-1, 1e-5, 0.5])
    ours = run_caviar("rmsprop", {"lr": lr.tolist(), "rho": rho.tolist(), "eps": eps.tolist()}, 50)

    a, b, w = seed_problem()
    r = np.zeros_like(w)
    for s in range(50):
        # :ref:`bg-rmsprop`, for each i,j: g := d/batch_size; r := rho r + (1-rho) g^2;
        #                   w := w - eta g / sqrt(r + eps)
        for m in range(P):
            for j in range(N_SEED):
                g = seed_grad(w[m, j], a[m, j], b[m, j])
                r[m, j] = rho[m] * r[m, j] + (1 - rho[m]) * g * g
                w[m, j] = w[m, j] - lr[m] * g / math.sqrt(r[m, j] + eps[m])
        np.testing.assert_allclose(ours[s], w, rtol=RTOL, atol=ATOL)

    # eps inside vs outside the root really differ (for the large eps of members 2 and 4).
    outside = run_caviar(
        "rmsprop",
        {"lr": lr.tolist(), "rho": rho.tolist(), "eps": eps.tolist()},
        50,
        eps_inside_sqrt=False,
    )
    assert np.abs(outside[-1][4] - ours[-1][4]).max() > 1e-3


def test_adam_matches_numpy_pseudocode() -> None:
    lr = np.array([0.01, 0.05, 0.002, 0.02, 0.1])
    b1 = np.array([0.9, 0.5, 0.0, 0.95, 0.8])
    b2 = np.array([0.999, 0.9, 0.99, 0.5, 0.0])
    eps = np.array([1e-8, 1e-3, 1e-1, 1e-5, 0.5])
    ours = run_caviar(
        "adam",
        {"lr": lr.tolist(), "beta1": b1.tolist(), "beta2": b2.tolist(), "eps": eps.tolist()},
        50,
    )
    a, b, w = seed_problem()
    s_ = np.zeros_like(w)
    r = np.zeros_like(w)
    t = 0
    for step in range(50):
        t += 1
        g = seed_grad(w, a, b)
        s_ = b1[:, None] * s_ + (1 - b1[:, None]) * g
        r = b2[:, None] * r + (1 - b2[:, None]) * g * g
        w = w - (lr[:, None] * s_ / (1 - b1[:, None] ** t)) / (
            np.sqrt(r / (1 - b2[:, None] ** t)) + eps[:, None]
        )
        np.testing.assert_allclose(ours[step], w, rtol=RTOL, atol=ATOL)


def hand_momentum(
    lr: np.ndarray, rho: np.ndarray, scale: Callable[[int], np.ndarray], steps: int, velocity: bool
) -> list[np.ndarray]:
    """Momentum (:ref:`bg-momentum`): V <- rho V + g; w <- w - eta V, or the velocity form
    v <- rho v - eta g; w <- w + v."""
    a, b, w = seed_problem()
    buf = np.zeros_like(w)
    out = []
    for s in range(steps):
        eta = (lr * scale(s))[:, None]
        g = seed_grad(w, a, b)
        if velocity:
            buf = rho[:, None] * buf - eta * g
            w = w + buf
        else:
            buf = rho[:, None] * buf + g
            w = w - eta * buf
        out.append(w.copy())
    return out


def test_momentum_conventions_coincide_at_constant_lr_and_differ_under_step_schedule() -> None:
    lr = np.array([0.01, 0.05, 0.02, 0.03, 0.1])
    rho = np.array([0.0, 0.5, 0.9, 0.8, 0.95])
    hypers = {"lr": lr.tolist(), "momentum": rho.tolist()}

    # Constant eta: identical trajectories (v = -eta V by induction).
    heavy = run_caviar("momentum", hypers, 50)
    vel = run_caviar("velocity_momentum", hypers, 50)
    for s in range(50):
        np.testing.assert_allclose(heavy[s], vel[s], rtol=RTOL, atol=ATOL)

    # Step schedule (halve every 10 steps): each matches its own rule, and they differ.
    def step_scale(s: int) -> np.ndarray:
        return np.full(P, 0.5 ** (s // 10))

    def torch_scale(s: int) -> torch.Tensor:
        return torch.from_numpy(step_scale(s))

    heavy = run_caviar("momentum", hypers, 50, lr_scale=torch_scale)
    vel = run_caviar("velocity_momentum", hypers, 50, lr_scale=torch_scale)
    heavy_ref = hand_momentum(lr, rho, step_scale, 50, velocity=False)
    vel_ref = hand_momentum(lr, rho, step_scale, 50, velocity=True)
    for s in range(50):
        np.testing.assert_allclose(heavy[s], heavy_ref[s], rtol=RTOL, atol=ATOL)
        np.testing.assert_allclose(vel[s], vel_ref[s], rtol=RTOL, atol=ATOL)
    # Before the first lr change they agree; after it, members with momentum > 0 differ.
    np.testing.assert_allclose(heavy[9], vel[9], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(heavy[-1][0], vel[-1][0], rtol=RTOL, atol=ATOL)  # rho = 0: SGD
    for m in range(1, P):
        assert np.abs(heavy[-1][m] - vel[-1][m]).max() > 1e-6, m


def test_nesterov_as_written_on_the_background_page_equals_torch_and_caviar() -> None:
    lr = [0.01, 0.05, 0.02, 0.03, 0.1]
    rho = [0.5, 0.9, 0.8, 0.95, 0.3]
    ours = run_caviar("nesterov", {"lr": lr, "momentum": rho}, 50)

    a, b, theta0 = seed_problem()
    for m in range(P):
        # Nesterov written as V_new = rho V_old + g; w <- w - eta [V_new + rho (V_new - V_old)].
        w = theta0[m].copy()
        v_old = np.zeros(N_SEED)
        # torch.optim.SGD(nesterov=True) on the same member.
        p = torch.from_numpy(theta0[m].copy()).requires_grad_()
        ref = torch.optim.SGD([p], lr=lr[m], momentum=rho[m], nesterov=True)
        for s in range(50):
            g = seed_grad(w, a[m], b[m])
            v_new = rho[m] * v_old + g
            w = w - lr[m] * (v_new + rho[m] * (v_new - v_old))
            v_old = v_new
            with torch.no_grad():
                p.grad = torch.from_numpy(a[m]) * p + torch.from_numpy(b[m]) * torch.cos(
                    torch.from_numpy(b[m]) * p
                )
            ref.step()
            np.testing.assert_allclose(p.detach().numpy(), w, rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(ours[s][m], w, rtol=RTOL, atol=ATOL)


def test_sgd_decoupled_decay_equals_torch_coupled_weight_decay_without_momentum() -> None:
    x, y = make_data(STEPS)
    theta0 = init_params(P)
    theta = theta0.clone().requires_grad_()
    opt = make_optimizer("sgd", [theta], lr=LR, weight_decay=WD)
    refs = []
    for i in range(P):
        p = theta0[i].clone().requires_grad_()
        refs.append((p, torch.optim.SGD([p], lr=LR[i], weight_decay=WD[i])))
    for s in range(STEPS):
        population_grad(theta, x[s], y[s])
        opt.step()
        for i, (p, ref) in enumerate(refs):
            ref.zero_grad()
            loss(p, x[s], y[s]).backward()
            ref.step()
            torch.testing.assert_close(theta[i].detach(), p.detach(), rtol=RTOL, atol=ATOL)


def test_momentum_dampening_is_the_ema_form_from_a_zero_buffer() -> None:
    """momentum = dampening = beta gives the moving average v <- beta v + (1-beta) g from v = 0
    (:ref:`bg-momentum`)."""
    beta = [0.0, 0.5, 0.9, 0.99, 0.3]
    lr = [0.01, 0.05, 0.02, 0.03, 0.1]
    ours = run_caviar("momentum", {"lr": lr, "momentum": beta, "dampening": beta}, 30)
    a, b, w = seed_problem()
    v = np.zeros_like(w)
    bt = np.array(beta)[:, None]
    for s in range(30):
        v = bt * v + (1 - bt) * seed_grad(w, a, b)
        w = w - np.array(lr)[:, None] * v
        np.testing.assert_allclose(ours[s], w, rtol=RTOL, atol=ATOL)
