"""Full-batch methods against scipy.optimize.minimize (float64), and their contracts."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize as so
import torch

from caviar.errors import CaviarError
from caviar.optim.second_order import (
    MAX_DENSE_PARAMS,
    hessian,
    make_method,
    minimize,
    value_and_grad,
)

D = torch.float64


def rosen(x: torch.Tensor) -> torch.Tensor:
    return (100 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (1 - x[:, :-1]) ** 2).sum(-1)


def _logreg_problem(seed: int = 0, n: int = 120, d: int = 6, lam: float = 0.1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.where(X @ rng.normal(size=d) + 0.5 * rng.normal(size=n) > 0, 1.0, -1.0)
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def f(w: torch.Tensor) -> torch.Tensor:  # (P, d) -> (P,)
        margins = -(w @ Xt.T) * yt
        return torch.nn.functional.softplus(margins).mean(-1) + 0.5 * lam * (w * w).sum(-1)

    def f_np(w):
        return float(f(torch.tensor(w)[None])[0])

    def g_np(w):
        return value_and_grad(f, torch.tensor(w)[None])[1][0].numpy()

    def h_np(w):
        return hessian(f, torch.tensor(w)[None])[0].numpy()

    return f, f_np, g_np, h_np, d


SCIPY = {"bfgs": "BFGS", "lbfgs": "L-BFGS-B", "newton": "trust-exact"}


@pytest.mark.parametrize("name", ["bfgs", "lbfgs", "newton"])
@pytest.mark.parametrize("line_search", ["armijo", "golden"])
def test_rosenbrock_matches_scipy(name: str, line_search: str) -> None:
    x0 = np.array([-1.2, 1.0])
    opts = {"gtol": 1e-10} if name != "lbfgs" else {"gtol": 1e-10, "ftol": 1e-15}
    hess = {"hess": so.rosen_hess} if name == "newton" else {}
    ref = so.minimize(so.rosen, x0, jac=so.rosen_der, method=SCIPY[name], options=opts, **hess)
    X0 = torch.tensor(x0, dtype=D)[None]
    res = minimize(make_method(name, X0, line_search=line_search), rosen, X0, gtol=1e-9)
    assert bool(res.converged[0])
    np.testing.assert_allclose(res.x[0].numpy(), ref.x, atol=1e-6)
    assert int(res.n_iter[0]) <= 2 * ref.nit + 10  # comparable iteration counts


@pytest.mark.parametrize("name", ["bfgs", "lbfgs", "newton"])
def test_logistic_regression_matches_scipy(name: str) -> None:
    f, f_np, g_np, h_np, d = _logreg_problem()
    x0 = np.zeros(d)
    method = {"bfgs": "BFGS", "lbfgs": "L-BFGS-B", "newton": "Newton-CG"}[name]
    opts = {"gtol": 1e-10} if name == "bfgs" else {}
    if name == "lbfgs":
        opts = {"gtol": 1e-12, "ftol": 1e-16}
    if name == "newton":
        opts = {"xtol": 1e-12}
    hess = {"hess": h_np} if name == "newton" else {}
    ref = so.minimize(f_np, x0, jac=g_np, method=method, options=opts, **hess)
    X0 = torch.zeros(1, d, dtype=D)
    res = minimize(make_method(name, X0), f, X0, gtol=1e-10)
    assert bool(res.converged[0])
    np.testing.assert_allclose(res.x[0].numpy(), ref.x, atol=1e-6)
    assert int(res.n_iter[0]) <= 2 * ref.nit + 5


def test_newton_converges_in_a_handful_of_steps() -> None:
    """Strictly convex, quadratic-like: Newton's local quadratic convergence."""
    f, *_rest, d = _logreg_problem(seed=3)
    X0 = torch.zeros(1, d, dtype=D)
    res = minimize(make_method("newton", X0), f, X0, gtol=1e-12)
    assert bool(res.converged[0])
    assert int(res.n_iter[0]) <= 6
    A = torch.tensor([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]], dtype=D)
    quad = lambda x: 0.5 * ((x @ A) * x).sum(-1) - x.sum(-1) + 0.1 * (x**4).sum(-1)  # noqa: E731
    X0 = torch.full((1, 3), 2.0, dtype=D)
    res = minimize(make_method("newton", X0), quad, X0, gtol=1e-12)
    assert bool(res.converged[0]) and int(res.n_iter[0]) <= 8


@pytest.mark.parametrize("name", ["gd_linesearch", "bfgs", "lbfgs", "newton"])
@pytest.mark.parametrize("line_search", ["armijo", "golden"])
def test_every_accepted_step_satisfies_armijo(name: str, line_search: str) -> None:
    X0 = torch.tensor([[-1.2, 1.0], [0.3, -0.4], [2.0, 2.0]], dtype=D)
    method = make_method(name, X0, line_search=line_search)
    res = minimize(method, rosen, X0, max_iter=60, gtol=1e-9, keep_steps=True)
    x = X0.clone()
    n_checked = 0
    for step in res.steps:
        fx = rosen(x)
        moved = step.step > 0
        f_new = rosen(x + step.step[:, None] * step.direction)
        bound = fx + method.c1 * step.step * step.trial_slope
        assert bool((f_new[moved] <= bound[moved] + 1e-12).all())
        n_checked += int(moved.sum())
        x = torch.where(moved[:, None], step.x, x)
    assert n_checked > 20


def test_gradient_descent_stops_by_tau() -> None:
    """Stop when the loss decrease falls below tau (:ref:`bg-gradient-descent`)."""
    X0 = torch.tensor([[-1.2, 1.0]], dtype=D)
    res = minimize(make_method("gd", X0, lr=1e-3), rosen, X0, max_iter=100000, tol=1e-6, gtol=0)
    hist = torch.stack(res.history)[:, 0]
    decreases = hist[:-1] - hist[1:]
    assert bool(res.converged[0])
    assert float(decreases[-1]) < 1e-6 and bool((decreases[:-1] >= 1e-6).all())


@pytest.mark.parametrize("name", ["gd_linesearch", "newton", "bfgs", "lbfgs"])
def test_members_follow_their_solo_trajectory(name: str) -> None:
    starts = torch.tensor([[-1.2, 1.0], [0.5, 0.5], [2.0, -1.0], [0.0, 0.0]], dtype=D)
    pop = minimize(make_method(name, starts, line_search="golden"), rosen, starts, max_iter=40)
    for p in range(starts.shape[0]):
        alone = minimize(
            make_method(name, starts[p : p + 1], line_search="golden"),
            rosen,
            starts[p : p + 1],
            max_iter=40,
        )
        assert int(alone.n_iter[0]) == int(pop.n_iter[p])
        torch.testing.assert_close(alone.x[0], pop.x[p], rtol=0, atol=1e-12)


def test_hessian_matches_autograd_and_dense_limit() -> None:
    f, *_rest, d = _logreg_problem()
    x = torch.randn(3, d, dtype=D)
    H = hessian(f, x)
    for p in range(3):
        ref = torch.autograd.functional.hessian(lambda w: f(w[None])[0], x[p])
        torch.testing.assert_close(H[p], ref, rtol=1e-12, atol=1e-12)
    big = torch.zeros(1, MAX_DENSE_PARAMS + 1, dtype=D)
    for name in ("newton", "bfgs"):
        with pytest.raises(CaviarError, match=rf"{MAX_DENSE_PARAMS + 1} parameters.*lbfgs"):
            make_method(name, big)
    make_method("lbfgs", big)  # L-BFGS has no dense matrix


def test_newton_damps_an_indefinite_hessian() -> None:
    """f = x^4/4 - x^2/2 + y^2 at x = 0.1: f''(x) < 0, plain Newton heads to the maximum."""

    def f(z: torch.Tensor) -> torch.Tensor:
        return z[:, 0] ** 4 / 4 - z[:, 0] ** 2 / 2 + z[:, 1] ** 2

    X0 = torch.tensor([[0.1, 1.0]], dtype=D)
    method = make_method("newton", X0)
    method.direction(f, X0, value_and_grad(f, X0)[1])
    assert float(method.last_shift[0]) == pytest.approx(1 - 3 * 0.01 + 1e-6, rel=1e-9)
    res = minimize(make_method("newton", X0), f, X0, gtol=1e-10)
    assert bool(res.converged[0])
    torch.testing.assert_close(res.x[0], torch.tensor([1.0, 0.0], dtype=D), atol=1e-8, rtol=0)


def test_dense_memory_limit_names_the_population() -> None:
    x = torch.zeros(600, 1000, dtype=D)  # 600 x 1000 x 1000 x 8 bytes = 4.5 GiB
    with pytest.raises(CaviarError, match=r"600 dense 1000x1000 matrices \(4\.5 GiB"):
        make_method("bfgs", x)
