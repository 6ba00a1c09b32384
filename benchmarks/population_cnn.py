"""A population of CNNs against its peers, measured side by side in one run (issue 12).

Workload: the seeded synthetic 1-D shape-classification task
(:func:`caviar.data.synthetic.make_signals`: 4,000 signals of length 48, 4 balanced
classes; 60/20/20 train/validation/test split), a CNN of three conv layers of 32
channels (kernel 3, padding 1, ReLU, max-pool 2 after each) and a linear output layer,
Adam, batch 128, 20 epochs, 32 configurations with log-uniform learning rate in
[1e-4, 1e-2] and log-uniform L2 kernel penalty λ in [1e-6, 1e-3] (λ Σ W² over the
kernels, i.e. the parameters of 2+ dimensions; no factor ½); no early stopping, so every
contestant does the same work. Every contestant starts member ``p`` from the same
initial weights (the built-in CNN's, built under seed ``p``), visits the same batches
(one shuffled order per epoch from ``torch.Generator().manual_seed(0)``, caviar's shared
order) and reports the validation accuracy after the last epoch. Contestants:

* ``caviar``: the 32 configurations as ONE population, ``model.kind = "cnn"``
  (``caviar.training.trainer.train_population``; it also validates every epoch);
* ``torch_sequential``: the same 32 trained one after another by a plain PyTorch loop
  (``nn.Sequential`` of the same layers, ``torch.optim.Adam``, L2 added to the loss);
* ``naive_vmap``: the torch.func "model ensembling" tutorial approach:
  ``stack_module_state`` + ``functional_call`` + ``vmap`` (one vectorized forward and
  backward for the 32) and ONE ``torch.optim.Adam`` over the stacked parameters. Per-member
  learning rates: ``torch.optim`` takes one learning rate per tensor, and the stacked
  tensors hold every member, so that Adam runs at ``lr = 1`` and each member's step is
  then scaled by its own rate, ``θ ← θ_old + η_p (θ_adam − θ_old)``; Adam's step is
  linear in ``lr`` (``θ − lr · m̂/(√v̂ + ε)``), so this IS Adam with ``lr = η_p`` for
  every member (to rounding). The alternative, one leaf tensor per member and parameter
  stacked every step with a param group per member, is the same arithmetic with 32
  optimizer groups and a copy of every parameter per step: slower, so not used here.

Every contestant gets the same torch thread count (``--threads``, default
``torch.get_num_threads()``). ``--repeat R`` runs the contestants R times interleaved (each
repeat starting with the next one, as the load of a shared machine drifts) and keeps each
one's fastest run. Prints a table, then ONE JSON line (last line) with the
speedups, each contestant's seconds and validation-accuracy range (min, max over the
configurations), and how far the contestants' per-member accuracies are apart (they
train the same members on the same batches; float32 rounding differs between kernels),
and each one's rate in GFLOP/s of the training steps' products (:func:`training_flops`).
``--quick`` runs a tiny version (smoke test).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from caviar.config import expand_configs
from caviar.data import prepare_arrays
from caviar.data.synthetic import make_signals
from caviar.nn.cnn import build_cnn
from caviar.nn.factory import build_member
from caviar.training.trainer import train_population

CHANNELS, KERNEL = [32, 32, 32], 3
MODEL = {
    "kind": "cnn",
    "channels": CHANNELS,
    "kernel_size": KERNEL,
    "pool": "max",
    "hidden": [],
    "activation": "relu",
    "init": "he_uniform",
    "output_init": "default",
}
CONTESTANTS = ("caviar", "torch_sequential", "naive_vmap")


def sample_hypers(n: int, seed: int = 0) -> list[tuple[float, float]]:
    """``n`` (learning rate, L2 λ) pairs, log-uniform in [1e-4, 1e-2] and [1e-6, 1e-3]."""
    rng = np.random.default_rng(seed)
    lrs = 10 ** rng.uniform(-4, -2, n)
    l2s = 10 ** rng.uniform(-6, -3, n)
    return [(float(a), float(b)) for a, b in zip(lrs, l2s, strict=True)]


def plain_cnn(in_channels: int, length: int, n_classes: int) -> nn.Sequential:
    """The network written out in plain PyTorch (the layers ``build_cnn`` makes for MODEL)."""
    layers: list[nn.Module] = []
    for c in CHANNELS:
        layers += [nn.Conv1d(in_channels, c, KERNEL, padding=KERNEL // 2), nn.ReLU()]
        layers.append(nn.MaxPool1d(2))
        in_channels, length = c, length // 2
    layers += [nn.Flatten(), nn.Linear(in_channels * length, n_classes)]
    return nn.Sequential(*layers)


def initial_net(data, seed: int) -> nn.Sequential:
    """Member ``seed``'s starting network: ``plain_cnn`` with the built-in CNN's weights."""
    c, length = data.input_shape
    cfg = {**MODEL, "stride": 1, "input_shape": [c, length], "n_outputs": data.n_classes}
    net = plain_cnn(c, length, int(data.n_classes))
    net.load_state_dict(build_member(build_cnn, cfg, seed).state_dict())
    return net


def split_tensors(data):
    shape = (-1, *data.input_shape)
    x = torch.as_tensor(data.X_train, dtype=torch.float32).view(shape)
    xv = torch.as_tensor(data.X_val, dtype=torch.float32).view(shape)
    y = torch.as_tensor(data.y_train, dtype=torch.long)
    yv = torch.as_tensor(data.y_val, dtype=torch.long)
    return x, y, xv, yv


def batches(n: int, batch: int, epochs: int):
    """Per epoch, the mini-batches' row indices: caviar's shared shuffled order."""
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        yield [perm[s : s + batch] for s in range(0, n, batch)]


def caviar_run(data, hypers, epochs, batch):
    configs = []
    for i, (lr, l2) in enumerate(hypers):
        configs += expand_configs(
            {
                "data": {"source": "arrays"},
                "model": MODEL,
                "optimizer": {"name": "adam", "lr": lr},
                "penalty": {"l2_kernel": l2},
                "train": {"epochs": epochs, "batch_size": batch, "patience": None, "seed": i},
            }
        )
    start = time.perf_counter()
    result = train_population(configs, data)
    seconds = time.perf_counter() - start
    return seconds, [m.history["val_score"][-1] for m in result.members]


def torch_one(data, lr, l2, epochs, batch, seed):
    x, y, xv, yv = split_tensors(data)
    net = initial_net(data, seed)
    kernels = [p for p in net.parameters() if p.dim() >= 2]
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for epoch in batches(len(y), batch, epochs):
        for idx in epoch:
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            loss = loss + l2 * sum((w * w).sum() for w in kernels)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return float((net(xv).argmax(1) == yv).float().mean())


def torch_sequential_run(data, hypers, epochs, batch):
    start = time.perf_counter()
    final = [torch_one(data, lr, l2, epochs, batch, i) for i, (lr, l2) in enumerate(hypers)]
    return time.perf_counter() - start, final


def naive_vmap_run(data, hypers, epochs, batch):
    start = time.perf_counter()
    x, y, xv, yv = split_tensors(data)
    P = len(hypers)
    nets = [initial_net(data, i) for i in range(P)]
    params, buffers = stack_module_state(nets)
    base = copy.deepcopy(nets[0]).to("meta")

    def member(p, b, xb):  # noqa: ANN001
        return functional_call(base, (p, b), (xb,))

    forward = vmap(member, in_dims=(0, 0, None))
    lr = torch.tensor([h[0] for h in hypers])
    l2 = torch.tensor([h[1] for h in hypers])
    tensors = list(params.values())
    kernels = [params[n] for n, p in params.items() if p.dim() >= 3]  # (P, *kernel shape)
    rates = [lr.view(P, *[1] * (p.dim() - 1)) for p in tensors]
    opt = torch.optim.Adam(tensors, lr=1.0)
    for epoch in batches(len(y), batch, epochs):
        for idx in epoch:
            out = forward(params, buffers, x[idx])  # (P, B, K)
            yb = y[idx].expand(P, -1)
            data_loss = nn.functional.cross_entropy(out.transpose(1, 2), yb, reduction="none")
            penalty = sum((w * w).flatten(1).sum(1) for w in kernels)
            opt.zero_grad()
            (data_loss.mean(1) + l2 * penalty).sum().backward()
            old = [t.detach().clone() for t in tensors]
            opt.step()
            with torch.no_grad():  # θ_old + η_p (θ_adam − θ_old): Adam at each member's lr
                for t, o, r in zip(tensors, old, rates, strict=True):
                    t.sub_(o).mul_(r).add_(o)
    with torch.no_grad():
        acc = (forward(params, buffers, xv).argmax(2) == yv).float().mean(1)
    return time.perf_counter() - start, [float(a) for a in acc]


RUNNERS = {
    "caviar": caviar_run,
    "torch_sequential": torch_sequential_run,
    "naive_vmap": naive_vmap_run,
}


def training_flops(data, epochs: int, members: int) -> float:
    """FLOPs of the training steps (convolution and linear products only): per example
    and member, the forward products, the weight gradients and the input gradients (all
    but the first layer's), 2 FLOPs per multiply-add; validation is not counted."""
    c, length = data.input_shape
    layers = []
    for out in CHANNELS:
        layers.append(out * c * KERNEL * length)
        c, length = out, length // 2
    layers.append(c * length * int(data.n_classes))
    per_example = 2 * (2 * sum(layers) + sum(layers[1:]))
    return float(per_example) * len(data.X_train) * epochs * members


def value_range(values) -> list[float]:
    return [round(float(np.min(values)), 4), round(float(np.max(values)), 4)]


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def parse_args(argv=None) -> argparse.Namespace:  # noqa: ANN001
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny smoke run")
    p.add_argument("--configs", type=int, default=32)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--examples", type=int, default=4000, help="signals generated (all splits)")
    p.add_argument("--length", type=int, default=48, help="samples per signal")
    p.add_argument("--threads", type=int, default=None, help="torch threads for every one")
    p.add_argument(
        "--repeat", type=int, default=1, help="interleaved runs; each one's fastest is kept"
    )
    args = p.parse_args(argv)
    for flag, value, low in (
        ("--configs", args.configs, 1),
        ("--epochs", args.epochs, 1),
        ("--batch", args.batch, 1),
        ("--examples", args.examples, 40),
        ("--length", args.length, 8),
        ("--threads", 1 if args.threads is None else args.threads, 1),
        ("--repeat", args.repeat, 1),
    ):
        if value < low:
            p.error(f"{flag} must be at least {low}, got {value}")
    if args.quick:
        args.configs, args.epochs, args.examples = 4, 2, 400
    return args


def main(argv=None) -> None:  # noqa: ANN001
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    threads = torch.get_num_threads()
    X, y = make_signals(args.examples, args.length, n_classes=4, seed=0)
    data = prepare_arrays(X, y, seed=0)
    hypers = sample_hypers(args.configs)
    seconds: dict[str, list[float]] = {c: [] for c in CONTESTANTS}
    accuracy: dict[str, list[float]] = {}
    loads: list[float | None] = [load_average()]
    for r in range(args.repeat):  # each repeat starts with the next contestant (load drifts)
        for name in CONTESTANTS[r % 3 :] + CONTESTANTS[: r % 3]:
            t, acc = RUNNERS[name](data, hypers, args.epochs, args.batch)
            if not seconds[name] or t < min(seconds[name]):
                accuracy[name] = acc
            seconds[name].append(t)
            loads.append(load_average())
    best = {c: min(seconds[c]) for c in CONTESTANTS}
    flops = training_flops(data, args.epochs, args.configs)
    apart = {
        c: round(float(np.max(np.abs(np.subtract(accuracy[c], accuracy["caviar"])))), 4)
        for c in CONTESTANTS[1:]
    }
    print(
        f"signals {len(data.X_train)} train / {len(data.X_val)} val, shape "
        f"{tuple(data.input_shape)}; CNN conv {CHANNELS} k{KERNEL} + linear; Adam, batch "
        f"{args.batch}, {args.epochs} epochs, {args.configs} configs; {threads} torch threads; "
        f"repeat {args.repeat}; load average {loads[0]} -> {loads[-1]}"
    )
    print(
        f"{'contestant':<18}{'seconds':>10}{'GFLOP/s':>9}{'val acc min':>13}{'val acc max':>13}"
        "  all runs"
    )
    for c in CONTESTANTS:
        low, high = value_range(accuracy[c])
        runs = ", ".join(f"{t:.2f}" for t in seconds[c])
        rate = flops / best[c] / 1e9
        print(f"{c:<18}{best[c]:>10.2f}{rate:>9.2f}{low:>13.4f}{high:>13.4f}  {runs}")
    print(
        json.dumps(
            {
                "benchmark": "population_cnn",
                "quick": bool(args.quick),
                "configs": args.configs,
                "epochs": args.epochs,
                "batch": args.batch,
                "threads": threads,
                "repeat": args.repeat,
                "load_average": loads,
                "seconds": {c: round(best[c], 3) for c in CONTESTANTS},
                "all_seconds": {c: [round(t, 3) for t in seconds[c]] for c in CONTESTANTS},
                "speedup_vs_torch_sequential": round(best["torch_sequential"] / best["caviar"], 3),
                "speedup_vs_naive_vmap": round(best["naive_vmap"] / best["caviar"], 3),
                "training_gflop": round(flops / 1e9, 2),
                "gflop_per_second": {c: round(flops / best[c] / 1e9, 3) for c in CONTESTANTS},
                "val_accuracy_range": {c: value_range(accuracy[c]) for c in CONTESTANTS},
                "max_accuracy_difference_vs_caviar": apart,
            }
        )
    )


if __name__ == "__main__":
    main()
