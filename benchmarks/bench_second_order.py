"""Batched full-batch methods vs scipy.optimize.minimize, one problem per member.

P independent L2-regularized logistic regressions (different regularization per
member). Caviar solves all P in one batched run; the peer is a Python loop of
``scipy.optimize.minimize`` (BFGS / L-BFGS-B with analytic gradients in numpy).
Each runs in its own fresh process (``benchmarks/fair.py``; the scipy one never imports
caviar or torch), on the problem regenerated from the same seed. Prints one JSON object
on the last line:
wall-clock ratios scipy/caviar (> 1: caviar faster) and the largest distance
between the two solutions.

    python benchmarks/bench_second_order.py [--members 64] [--features 20] [--rows 500]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fair  # noqa: E402  (benchmarks/ is no package)


def problem(P: int, d: int, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.where(X @ rng.normal(size=d) + rng.normal(size=n) > 0, 1.0, -1.0)
    lams = np.logspace(-3, 0, P)
    return X, y, lams


def scipy_solve(X, y, lams, method: str):
    import scipy.optimize as so

    out, iters = [], []
    for lam in lams:

        def f(w, lam=lam):
            m = -(X @ w) * y
            return np.logaddexp(0, m).mean() + 0.5 * lam * w @ w

        def g(w, lam=lam):
            m = -(X @ w) * y
            s = 0.5 * (1 + np.tanh(0.5 * m))  # sigmoid(m)
            return -(X.T @ (s * y)) / len(y) + lam * w

        opts = {"gtol": 1e-8} if method == "BFGS" else {"gtol": 1e-8, "ftol": 1e-15}
        r = so.minimize(f, np.zeros(X.shape[1]), jac=g, method=method, options=opts)
        out.append(r.x)
        iters.append(r.nit)
    return np.stack(out), float(np.mean(iters))


def caviar_solve(X, y, lams, name: str):
    import torch

    from caviar.optim.second_order import make_method, minimize

    Xt, yt = torch.tensor(X), torch.tensor(y)
    lam = torch.tensor(lams)

    def f(w):
        m = -(w @ Xt.T) * yt
        return torch.nn.functional.softplus(m).mean(-1) + 0.5 * lam * (w * w).sum(-1)

    x0 = torch.zeros(len(lams), X.shape[1], dtype=torch.float64)
    r = minimize(make_method(name, x0), f, x0, gtol=1e-8, max_iter=500)
    return r.x.numpy(), float(r.n_iter.double().mean())


def timed(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def contestant(tool: str, method: str, members: int, features: int, rows: int, repeat: int):
    """One solver in this (fresh) process on the problem regenerated from seed 0: the
    best of ``repeat`` times, the solutions and the mean iteration count."""
    X, y, lams = problem(members, features, rows)
    solve = caviar_solve if tool == "caviar" else scipy_solve
    seconds, (x, iters) = timed(lambda: solve(X, y, lams, method), repeat)
    return {"seconds": seconds, "x": x.tolist(), "iters": iters}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=64)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--rows", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    size = {"members": a.members, "features": a.features, "rows": a.rows}
    result = {**size, "load": fair.load_average()}
    target = "bench_second_order.py:contestant"
    for ours, theirs in (("bfgs", "BFGS"), ("lbfgs", "L-BFGS-B")):
        common = {**size, "repeat": a.repeat}
        cav = fair.run_caviar(target, kwargs={**common, "tool": "caviar", "method": ours})
        peer = fair.run_peer(target, kwargs={**common, "tool": "scipy", "method": theirs})
        t_c, x_c, it_c = cav["seconds"], np.array(cav["x"]), cav["iters"]
        t_s, x_s, it_s = peer["seconds"], np.array(peer["x"]), peer["iters"]
        result[f"{ours}_peer_process"] = fair.process_checks(scipy=peer)["scipy"]
        print(f"{ours}: caviar {t_c:.3f}s ({it_c:.1f} it), scipy {t_s:.3f}s ({it_s:.1f} it)")
        result[f"{ours}_speedup_vs_scipy"] = t_s / t_c
        result[f"{ours}_max_abs_diff"] = float(np.abs(x_c - x_s).max())
        result[f"{ours}_mean_iters"] = it_c
        result[f"{ours}_scipy_mean_iters"] = it_s
    print(json.dumps(result))


if __name__ == "__main__":
    main()
