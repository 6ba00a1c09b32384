"""``caviar diagnose``: one report per configuration.

Sections: gradient check (:ref:`bg-gradient-check`), Hessian conditioning with
AdaGrad's diagonal side by side (:ref:`bg-condition-number`, :ref:`bg-adagrad`), per-layer
gradient norms over training (:ref:`bg-vanishing-gradients`), learning-rate range test,
naive baseline and the
under/overfitting verdict. :func:`diagnose` returns a JSON-ready dict;
:func:`render_text` prints it as tables; :func:`write_plots` draws the curves
(matplotlib, Agg backend).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from caviar.config import RunConfig
from caviar.diagnose.backprop_check import backprop_check
from caviar.diagnose.baseline import naive_baseline
from caviar.diagnose.conditioning import adagrad_diagonal, hessian_conditioning
from caviar.diagnose.gradient_check import gradient_check, model_tensors
from caviar.diagnose.gradient_norms import gradient_norm_run
from caviar.diagnose.lr_range_test import lr_range_test
from caviar.diagnose.objective import member_objective
from caviar.diagnose.trees import trees_report
from caviar.diagnose.verdict import verdict
from caviar.training.build import build_model
from caviar.training.full_batch import is_full_batch
from caviar.training.init_check import initial_check
from caviar.training.population import penalty_lambdas, stack_knobs
from caviar.training.splits import split_tensors
from caviar.training.trainer import PopulationTrainer

CHECK_ROWS = 32  # bg-gradient-check: the gradient check runs on a simplified problem


def _float64(cfg: RunConfig, flat: torch.Tensor | None) -> RunConfig:
    cfg64 = cfg.model_copy(deep=True)
    cfg64.train.dtype = "float64"
    if flat is None:  # random output weights: prior init's zeros would zero hidden gradients
        cfg64.model.output_init = "default"
    if is_full_batch(cfg64):
        cfg64.optimizer = cfg64.optimizer.__class__(name="sgd")
    return cfg64


def _objective_at(cfg: RunConfig, data, flat: torch.Tensor | None, rows: int | None):
    """float64 model of ``cfg`` at ``flat`` (or its initial weights) and its objective."""
    cfg64 = _float64(cfg, flat)
    knobs = stack_knobs([cfg64], data.task, dtype=torch.float64, device=cfg.train.device)
    model = build_model([cfg64], data, knobs)
    if flat is not None:
        with torch.no_grad():
            model.flat.copy_(flat.to(model.flat))
    X, y = data.X_train, data.y_train
    if rows is not None:
        X, y = X[:rows], y[:rows]
    x, yt = split_tensors(data.task, X, y, torch.float64, cfg.train.device)
    f = member_objective(
        model,
        x,
        yt,
        loss_name=knobs.loss_name,
        loss_hypers={k: float(v[0]) for k, v in knobs.loss.items()},
        penalty={k: float(v[0]) for k, v in penalty_lambdas(knobs.penalty).items()},
        slope=float(knobs.leaky_slope[0]),
    )
    return model, f


def _baseline_and_verdict(data, train_score: float, val_score: float, metric: str) -> dict:
    """The naive baseline and the under/overfitting verdict, both on ``metric``, and
    boosted trees beside the network, scored with the same metric (:ref:`bg-baselines`,
    :mod:`caviar.diagnose.trees`)."""
    from caviar.training.scoring import perfect_score

    base = naive_baseline(data, metric)
    return {
        **verdict(
            train_score, val_score, base["val_score"], perfect=perfect_score(metric, data.task)
        ),
        "baseline": base["name"],
        "baseline_score": base["val_score"],
        "trees": trees_report(data, val_score, metric=metric),
    }


def diagnose(cfg: RunConfig, data, *, epochs: int = 20, lr_steps: int = 100) -> dict:
    """Every diagnostic for one configuration (a JSON-ready dict)."""
    # 0. the initial loss against log k and symmetric initialization (bg-initialization)
    init = initial_check(PopulationTrainer([cfg], data)) if not is_full_batch(cfg) else None
    # 1. gradient check at the initial weights, float64, on a few rows
    model, f = _objective_at(cfg, data, None, CHECK_ROWS)
    checks = gradient_check(f, model.flat[0], model_tensors(model))
    # 1b. the same check on the gradient the training step computes (nn/backprop.py)
    train_checks = backprop_check(_float64(cfg, None), data, model, f, CHECK_ROWS)
    # 2. gradient norms over training (also AdaGrad's B and the trained point)
    norms = gradient_norm_run(cfg, data, epochs=epochs)
    result = norms.pop("result")
    member = result.members[0]
    trained = result.model.flat.detach()[:1]
    # 3. conditioning at the trained point on the full training set
    _, f_full = _objective_at(cfg, data, trained, None)
    cond = hessian_conditioning(f_full, trained.double())
    cond["adagrad_b"] = adagrad_diagonal(norms.pop("grad_sq_sum"))
    # 4. learning-rate range test
    if is_full_batch(cfg):
        lr = {"applicable": False, "reason": f"'{cfg.optimizer.name}' chooses its own steps"}
    else:
        lr = {"applicable": True, **lr_range_test(cfg, data, steps=lr_steps)}
    return {
        "config": cfg.model_dump(mode="json"),
        "n_params": int(model.n_params),
        "initialization": init[0] if init else {"applicable": False},
        "gradient_check": {
            "ok": all(c.ok for c in checks),
            "tensors": [c.as_dict() for c in checks],
            "training_path": {"applicable": False, "reason": "batch norm: autograd"}
            if train_checks is None
            else {
                "applicable": True,
                "ok": all(c.ok for c in train_checks),
                "tensors": [c.as_dict() for c in train_checks],
            },
        },
        "conditioning": cond,
        "gradient_norms": {**norms, "epochs": epochs},
        "lr_range_test": lr,
        "fit": {
            **_baseline_and_verdict(data, member.train_score, member.val_score, cfg.train.metric),
            "history": {k: member.history[k] for k in ("train_loss", "val_loss")},
        },
    }


def render_text(report: dict, console) -> None:
    """The report as rich tables."""
    from rich import box
    from rich.table import Table

    cfg = report["config"]
    console.print(
        f"[bold]{cfg['data']['source']}[/] hidden={cfg['model']['hidden']} "
        f"activation={cfg['model']['activation']} optimizer={cfg['optimizer']['name']} "
        f"({report['n_params']} parameters)"
    )
    init = report.get("initialization", {})
    if "initial_loss" in init:
        ref = "log k" if init.get("log_k") == init["reference_loss"] else "constant prediction"
        console.print(
            f"initial loss {init['initial_loss']:.4g} vs {ref} {init['reference_loss']:.4g}"
        )
        for text in init["warnings"]:
            console.print(f"[yellow]warning[/]: {text}")
    gc = Table("tensor", "checked", "max rel error", "ok", title="gradient check", box=box.SIMPLE)
    for t in report["gradient_check"]["tensors"]:
        gc.add_row(
            t["name"], f"{t['checked']}/{t['size']}", f"{t['max_rel_error']:.2e}", str(t["ok"])
        )
    console.print(gc)
    tp = report["gradient_check"].get("training_path")
    if tp and tp["applicable"]:
        worst = max((t["max_rel_error"] for t in tp["tensors"]), default=0.0)
        console.print(
            f"gradient check of the training path (nn/backprop.py): max rel error "
            f"{worst:.2e}, ok {tp['ok']}"
        )
    c = report["conditioning"]
    ct = Table("quantity", "value", title="conditioning", box=box.SIMPLE)
    kappa = c["condition_number"]
    ct.add_row("method", c["method"])
    ct.add_row("Hessian condition number", "n/a (indefinite)" if kappa is None else f"{kappa:.3e}")
    ct.add_row("lambda_max (+-err)", f"{c['lambda_max']:.3e} (+-{c['err_max']:.1e})")
    ct.add_row("lambda_min (+-err)", f"{c['lambda_min']:.3e} (+-{c['err_min']:.1e})")
    ct.add_row("AdaGrad B max/min", f"{c['adagrad_b']['ratio']:.3e}")
    console.print(ct)
    g = report["gradient_norms"]
    gt = Table("layer", "mean grad norm", title="gradient norms", box=box.SIMPLE)
    for name, value in zip(g["layers"], g["mean"], strict=True):
        gt.add_row(name, f"{value:.3e}")
    gt.add_row("first/last ratio", f"{g['first_to_last_ratio']:.3e}")
    console.print(gt)
    lr = report["lr_range_test"]
    if lr["applicable"]:
        console.print(
            f"lr range test: suggested lr {lr['suggested_lr']}, min-loss lr/10 {lr['min_loss_lr']}"
        )
    else:
        console.print(f"lr range test: not applicable ({lr['reason']})")
    fit = report["fit"]
    console.print(f"fit: {fit['verdict']}: {fit['reason']} (naive baseline: {fit['baseline']})")
    trees = fit.get("trees")
    if trees:
        console.print(f"trees: {trees['verdict']}: {trees['reason']}")


def write_plots(report: dict, out: Path, prefix: str = "") -> list[Path]:
    """PNG plots: per-layer gradient norms, learning curves and the lr range test."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    g = report["gradient_norms"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, series in zip(g["layers"], g["per_epoch"], strict=True):
        ax.semilogy(range(1, len(series) + 1), np.maximum(series, 1e-300), label=name)
    ax.set(xlabel="epoch", ylabel="||dL/dW||", title="gradient norm per layer")
    ax.legend(fontsize=7)
    path = out / f"{prefix}gradient_norms.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    paths.append(path)
    hist = report["fit"]["history"]
    fig, ax = plt.subplots(figsize=(6, 4))
    for key in ("train_loss", "val_loss"):
        ax.plot(range(1, len(hist[key]) + 1), hist[key], label=key)
    ax.set(xlabel="epoch", ylabel="loss", title=f"learning curves ({report['fit']['verdict']})")
    ax.legend()
    path = out / f"{prefix}learning_curves.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    paths.append(path)
    lr = report["lr_range_test"]
    if lr["applicable"] and lr["lrs"]:
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.semilogx(lr["lrs"], lr["losses"])
        if lr["suggested_lr"]:
            ax.axvline(lr["suggested_lr"], ls="--", color="gray", label="suggested")
            ax.legend()
        ax.set(xlabel="learning rate", ylabel="smoothed training loss", title="lr range test")
        path = out / f"{prefix}lr_range.png"
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    return paths
