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

Every contestant runs in its own fresh process (``benchmarks/fair.py``): caviar at its
defaults (``--threads`` sets its torch threads), each peer (``population_cnn_peers.py``,
which never imports caviar, in the user's environment without Caviar's variables) at 1
and 2 torch threads, the faster counting (``peer_settings`` in the JSON). The peers read
the splits, the configurations and the members' initial weights from a ``.npz`` file.
``--repeat R`` runs the contestants R times interleaved (each
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
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fair  # noqa: E402  (benchmarks/ is no package)
from population_cnn_peers import CHANNELS, KERNEL  # noqa: E402

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


def make_data(examples: int, length: int):
    from caviar.data import prepare_arrays
    from caviar.data.synthetic import make_signals

    X, y = make_signals(examples, length, n_classes=4, seed=0)
    return prepare_arrays(X, y, seed=0)


def write_peer_data(path: str, data, hypers) -> None:
    """The splits, the configurations and every member's initial weights (the built-in
    CNN's under seed ``p``), for the peers."""
    from caviar.nn.cnn import build_cnn
    from caviar.nn.factory import build_member

    c, length = data.input_shape
    cfg = {**MODEL, "stride": 1, "input_shape": [c, length], "n_outputs": data.n_classes}
    weights = {
        f"init{p}.{name}": value.numpy()
        for p in range(len(hypers))
        for name, value in build_member(build_cnn, cfg, p).state_dict().items()
    }
    splits = {k: getattr(data, k) for k in ("X_train", "y_train", "X_val", "y_val")}
    h = np.array(hypers)
    np.savez(
        path,
        **splits,
        **weights,
        input_shape=np.array(data.input_shape),
        n_classes=int(data.n_classes),
        lr=h[:, 0],
        l2=h[:, 1],
    )


def caviar_contestant(
    examples: int, length: int, configs: int, epochs: int, batch: int, threads: int | None
) -> dict:
    """Caviar's side in its own process (:func:`fair.run_caviar`), at its defaults
    unless ``--threads`` was given."""
    import torch

    if threads:
        torch.set_num_threads(threads)
    data = make_data(examples, length)
    seconds, final = caviar_run(data, sample_hypers(configs), epochs, batch)
    return {"seconds": seconds, "final": final, "threads": torch.get_num_threads()}


def caviar_run(data, hypers, epochs, batch):
    from caviar.config import expand_configs
    from caviar.training.trainer import train_population

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


def parse_args(argv=None) -> argparse.Namespace:  # noqa: ANN001
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny smoke run")
    p.add_argument("--configs", type=int, default=32)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--examples", type=int, default=4000, help="signals generated (all splits)")
    p.add_argument("--length", type=int, default=48, help="samples per signal")
    p.add_argument("--threads", type=int, default=None, help="caviar's torch threads")
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


def contestants(args, npz: str) -> dict:
    """Each contestant as a call running it in its own process (peers: best setting)."""
    common = ["--data", npz, "--epochs", str(args.epochs), "--batch", str(args.batch)]
    kwargs = {k: getattr(args, k) for k in ("examples", "length", "configs", "epochs", "batch")}
    return {
        "caviar": lambda: fair.run_caviar(
            "population_cnn.py:caviar_contestant", kwargs={**kwargs, "threads": args.threads}
        ),
        "torch_sequential": lambda: fair.run_peer(
            "population_cnn_peers.py", ["torch", *common], fair.TORCH_THREADS
        ),
        "naive_vmap": lambda: fair.run_peer(
            "population_cnn_peers.py", ["vmap", *common], fair.TORCH_THREADS
        ),
    }


def main(argv=None) -> None:  # noqa: ANN001
    args = parse_args(argv)
    data = make_data(args.examples, args.length)
    seconds: dict[str, list[float]] = {c: [] for c in CONTESTANTS}
    accuracy: dict[str, list[float]] = {}
    runs: dict[str, dict] = {}
    loads: list = [fair.load_average()]
    with tempfile.TemporaryDirectory(prefix="caviar-cnn-") as tmp:
        npz = os.path.join(tmp, "signals.npz")
        write_peer_data(npz, data, sample_hypers(args.configs))
        run = contestants(args, npz)
        for r in range(args.repeat):  # each repeat starts with the next contestant
            for name in CONTESTANTS[r % 3 :] + CONTESTANTS[: r % 3]:
                out = run[name]()
                if not seconds[name] or out["seconds"] < min(seconds[name]):
                    accuracy[name], runs[name] = out["final"], out
                seconds[name].append(out["seconds"])
                loads.append(fair.load_average())
    threads = runs["caviar"]["threads"]
    best = {c: min(seconds[c]) for c in CONTESTANTS}
    flops = training_flops(data, args.epochs, args.configs)
    apart = {
        c: round(float(np.max(np.abs(np.subtract(accuracy[c], accuracy["caviar"])))), 4)
        for c in CONTESTANTS[1:]
    }
    print(
        f"signals {len(data.X_train)} train / {len(data.X_val)} val, shape "
        f"{tuple(data.input_shape)}; CNN conv {CHANNELS} k{KERNEL} + linear; Adam, batch "
        f"{args.batch}, {args.epochs} epochs, {args.configs} configs; caviar {threads} torch "
        f"threads, peers {[runs[c]['setting'] for c in CONTESTANTS[1:]]}, each in its own "
        f"process; repeat {args.repeat}; load [1-min, runnable] {loads[0]} -> {loads[-1]}"
    )
    print(
        f"{'contestant':<18}{'seconds':>10}{'GFLOP/s':>9}{'val acc min':>13}{'val acc max':>13}"
        "  all runs"
    )
    for c in CONTESTANTS:
        low, high = value_range(accuracy[c])
        every = ", ".join(f"{t:.2f}" for t in seconds[c])
        rate = flops / best[c] / 1e9
        print(f"{c:<18}{best[c]:>10.2f}{rate:>9.2f}{low:>13.4f}{high:>13.4f}  {every}")
    print(
        json.dumps(
            {
                "benchmark": "population_cnn",
                "quick": bool(args.quick),
                "configs": args.configs,
                "epochs": args.epochs,
                "batch": args.batch,
                "threads": threads,
                "peer_settings": {c: runs[c]["setting"] for c in CONTESTANTS[1:]},
                "peer_processes": fair.process_checks(**{c: runs[c] for c in CONTESTANTS[1:]}),
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
