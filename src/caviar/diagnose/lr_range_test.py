"""Learning-rate range test (how to find the best learning rate).

The aim is to find the learning rate without touching the test set (:ref:`bg-validation`). The
range test (L. Smith, "Cyclical learning rates", 2017) trains from the initial
weights while the rate grows exponentially,

    eta_i = eta_min (eta_max / eta_min)^(i / (n - 1)),     i = 0..n-1,

one mini-batch per rate, records the exponentially smoothed training loss
(bias-corrected, factor ``beta``) and stops once it exceeds ``diverge`` times its
best. Suggested rate: where the smoothed loss falls fastest against ``log eta``
(taken no later than the minimum); ``min_loss_lr / 10`` is reported too. Runs with
the configuration's first-order optimizer (full-batch methods pick their own step:
not applicable).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from caviar.config import RunConfig
from caviar.losses import get_loss
from caviar.optim import make_optimizer
from caviar.penalties import penalties
from caviar.training.build import DTYPES, build_model
from caviar.training.population import penalty_lambdas, stack_knobs
from caviar.training.splits import to_tensors
from caviar.training.trainer import _optimizer_flags


def lr_range_test(
    cfg: RunConfig,
    data,
    *,
    lr_min: float = 1e-6,
    lr_max: float = 10.0,
    steps: int = 100,
    beta: float = 0.9,
    diverge: float = 4.0,
) -> dict:
    """Loss against an exponentially growing rate, and a suggested rate."""
    dtype = DTYPES[cfg.train.dtype]
    knobs = stack_knobs([cfg], data.task, dtype=dtype, device=cfg.train.device)
    model = build_model([cfg], data, knobs)
    t = to_tensors(data, dtype, cfg.train.device)
    spec = get_loss(knobs.loss_name)
    hypers = dict(knobs.optimizer)
    hypers["lr"] = torch.full_like(hypers["lr"], lr_min)
    opt = make_optimizer(cfg.optimizer.name, [model.flat], **hypers, **_optimizer_flags(cfg))
    n = t.x_train.shape[0]
    bs = n if cfg.train.batch_size == "full" else min(int(cfg.train.batch_size), n)
    gen = torch.Generator().manual_seed(int(cfg.train.shuffle_seed))
    perm = torch.randperm(n, generator=gen)
    ratio = lr_max / lr_min
    lrs, smoothed = [], []
    avg, best = 0.0, math.inf
    pos = 0
    for i in range(steps):
        if pos + bs > n:
            perm, pos = torch.randperm(n, generator=gen), 0
        idx = perm[pos : pos + bs].to(t.x_train.device)
        pos += bs
        scale = ratio ** (i / max(1, steps - 1))
        out = model(t.x_train[idx], slope=knobs.leaky_slope)
        loss = spec.fn(out, t.y_train[idx], **knobs.loss) + penalties(
            model.weights(), model.biases(), [], **penalty_lambdas(knobs.penalty)
        )
        value = float(loss.detach()[0])
        if not math.isfinite(value):
            break
        avg = beta * avg + (1 - beta) * value
        s = avg / (1 - beta ** (i + 1))
        lrs.append(lr_min * scale)
        smoothed.append(s)
        best = min(best, s)
        if s > diverge * best:
            break
        model.zero_grad()
        loss.sum().backward()
        opt.step(lr_scale=scale)
    return {"lrs": lrs, "losses": smoothed, **suggest(np.array(lrs), np.array(smoothed))}


def suggest(lrs: np.ndarray, losses: np.ndarray) -> dict:
    """Steepest-descent rate (up to the minimum) and ``min_loss_lr / 10``."""
    if len(lrs) < 3:
        return {"suggested_lr": None, "min_loss_lr": None}
    i_min = int(np.argmin(losses))
    slopes = np.gradient(losses, np.log(lrs))
    i_steep = int(np.argmin(slopes[: i_min + 1]))
    return {"suggested_lr": float(lrs[i_steep]), "min_loss_lr": float(lrs[i_min] / 10)}
