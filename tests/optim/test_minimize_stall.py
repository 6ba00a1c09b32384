"""minimize() with tau = 0 stops on an exactly-zero decrease (:ref:`bg-gradient-descent`)."""

import numpy as np
import torch

from caviar.diagnose.conditioning import condition_number, hessian_conditioning
from caviar.optim.second_order import make_method, minimize


def rosen(x: torch.Tensor) -> torch.Tensor:
    return (100 * (x[:, 1:] - x[:, :-1] ** 2) ** 2 + (1 - x[:, :-1]) ** 2).sum(-1)


def test_newton_golden_on_6d_rosenbrock_stops_when_the_loss_stops_changing():
    x0 = torch.tensor([[-1.2, 1.0] * 3], dtype=torch.float64)
    method = make_method("newton", x0, line_search="golden")
    res = minimize(method, rosen, x0, max_iter=500, gtol=1e-12, tol=0.0)
    assert int(res.n_iter[0]) < 50  # it used to spin all 500 iterations at steps of 4e-9
    assert bool(res.converged[0])
    # the last iteration did not decrease the loss (that is why it stopped)
    assert float(res.history[-2][0] - res.history[-1][0]) <= 0.0
    # a member still decreasing is not stopped by tau = 0
    quad = minimize(make_method("gd", x0, lr=0.1), lambda x: (x * x).sum(-1), x0, max_iter=5)
    assert int(quad.n_iter[0]) == 5


def test_singular_hessian_condition_number_is_inf():
    H = torch.tensor([[[1.0, 1.0], [1.0, 1.0]], [[2.0, 0.0], [0.0, 1.0]]], dtype=torch.float64)
    cn = condition_number(H)
    assert cn[0] == float("inf")
    assert float(cn[1]) == np.linalg.cond(H[1].numpy())
    # f(a, b) = (a + b)^2 has the singular Hessian [[2, 2], [2, 2]]
    info = hessian_conditioning(lambda t: (t[:, 0] + t[:, 1]) ** 2, torch.ones(1, 2).double())
    assert info["condition_number"] == float("inf")
