"""A population of Transformer classifiers against its peers, side by side in one run.

Workload: seeded synthetic sequences (``--examples`` of ``--length`` positions with 4
features; 4 classes: the feature whose mean over the second half is largest, plus
noise; 60/20/20 split), a 1-layer Transformer classifier (linear embedding to d = 32,
``nn.TransformerEncoderLayer(32, 4, 64)`` with torch's default dropout 0.1, batch first,
mean over positions, linear output), Adam, batch 64, ``--configs`` configurations with
log-uniform learning rates in [3e-4, 3e-3], no early stopping. Every contestant starts
member ``p`` from the same initial weights (the factory's under seed ``p``) and visits
the same batches (one shuffled order per epoch from ``torch.Generator().manual_seed(0)``,
caviar's shared order). Contestants:

* ``caviar``: the configurations as ONE population (``model.kind = "module"`` with the
  factory below; torch's encoder layer is converted: per-member dropout streams, no
  fused kernels); it also validates every epoch;
* ``torch_sequential``: a plain PyTorch loop over ``nn.TransformerEncoderLayer``, one
  configuration after another (``population_transformer_peers.py torch``);
* ``naive_vmap``: ``stack_module_state`` + ``functional_call`` + ``vmap`` over torch's
  layer, one Adam (``population_transformer_peers.py vmap``).

Each peer runs in its own fresh process that does not import caviar, with the user's
environment less Caviar's settings (``benchmarks/fair.py``); every contestant runs at
``--threads`` torch threads (default 1, the setting this comparison is about).
``--repeat R`` interleaves the contestants R times and keeps each one's fastest run.
The last line printed is ONE JSON object with the speedups, seconds, the machine's load
(``load_average``: ``[1-minute load average, runnable tasks]`` at the start and after
each run, :func:`fair.load_average`) and accuracy ranges; beside the wall-clock ratios,
CPU-time ratios (each contestant's process CPU seconds at 1 thread: steadier than wall
time on a loaded machine).
``--quick``: a tiny smoke run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from caviar.config import expand_configs
from caviar.data import prepare_arrays
from caviar.nn.factory import build_member, register
from caviar.training.trainer import train_population

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import fair  # noqa: E402
from population_transformer_peers import Classifier  # noqa: E402

FEATURES, D, HEADS, FF, CLASSES = 4, 32, 4, 64, 4
CONTESTANTS = ("caviar", "torch_sequential", "naive_vmap")
PEER_OF = {"torch_sequential": "torch", "naive_vmap": "vmap"}


def transformer_classifier(cfg: dict) -> torch.nn.Module:
    """The factory: torch's own layers (``Classifier`` of the peers' file)."""
    return Classifier(FEATURES, D, HEADS, FF, int(cfg["n_outputs"]), 0.1)


def make_sequences(n: int, length: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(n, length, 4)`` sequences; class = the feature with the largest mean over the
    second half (a signal of 0.8 on that feature there, plus unit noise)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, CLASSES, n)
    X = rng.normal(size=(n, length, FEATURES))
    X[np.arange(n), length // 2 :, y] += 0.8
    return X.astype(np.float32), y


def sample_lrs(n: int, seed: int = 0) -> list[float]:
    return [float(v) for v in 10 ** np.random.default_rng(seed).uniform(-3.5, -2.5, n)]


def caviar_run(data, lrs, epochs, batch) -> tuple[float, float, list[float]]:
    path = register(transformer_classifier)
    configs = []
    for i, lr in enumerate(lrs):
        configs += expand_configs(
            {
                "data": {"source": "arrays"},
                "model": {"kind": "module", "factory": path},
                "optimizer": {"name": "adam", "lr": lr},
                "train": {"epochs": epochs, "batch_size": batch, "patience": None, "seed": i},
            }
        )
    start, cpu = time.perf_counter(), time.process_time()
    result = train_population(configs, data)
    final = [m.history["val_score"][-1] for m in result.members]
    return time.perf_counter() - start, time.process_time() - cpu, final


def write_data(data, lrs, path: Path) -> None:
    """Splits, sizes, learning rates and each member's initial weights for the peers."""
    cfg = {"input_shape": list(data.input_shape), "n_outputs": int(data.n_classes)}
    arrays = {
        "X_train": data.X_train, "y_train": data.y_train, "X_val": data.X_val,
        "y_val": data.y_val, "shape": np.asarray(data.input_shape),
        "sizes": np.asarray([FEATURES, D, HEADS, FF, int(data.n_classes)]),
        "dropout": np.asarray(0.1), "lr": np.asarray(lrs, dtype=np.float32),
    }  # fmt: skip
    for p in range(len(lrs)):
        net = build_member(transformer_classifier, cfg, p)
        arrays.update({f"init{p}.{n}": t.numpy() for n, t in net.state_dict().items()})
    np.savez(path, **arrays)


def peer_run(name, data_path, args) -> tuple[float, float, list[float]]:
    """One peer in a fresh process through :func:`fair.run_peer` (the user's environment
    less Caviar's settings; refused if it imports caviar), at ``--threads`` threads."""
    common = [PEER_OF[name], "--data", str(data_path), "--epochs", str(args.epochs),
              "--batch", str(args.batch)]  # fmt: skip
    out = fair.run_peer("population_transformer_peers.py", common, ({"threads": args.threads},))
    return out["seconds"], out["cpu_seconds"], out["final"]


def parse_args(argv=None) -> argparse.Namespace:  # noqa: ANN001
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny smoke run")
    p.add_argument("--configs", type=int, default=32)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--examples", type=int, default=2000, help="sequences (all splits)")
    p.add_argument("--length", type=int, default=16, help="positions per sequence")
    p.add_argument("--threads", type=int, default=1, help="torch threads for every one")
    p.add_argument("--repeat", type=int, default=1, help="interleaved runs; fastest kept")
    args = p.parse_args(argv)
    fair.check_at_least(p, args, {"configs": 1, "epochs": 1, "batch": 1, "examples": 40,
                                  "length": 2, "threads": 1, "repeat": 1})  # fmt: skip
    if args.quick:
        args.configs, args.epochs, args.examples = 3, 1, 200
    return args


def main(argv=None) -> None:  # noqa: ANN001
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    X, y = make_sequences(args.examples, args.length)
    data = prepare_arrays(X, y, seed=0)
    lrs = sample_lrs(args.configs)
    seconds: dict[str, list[float]] = {c: [] for c in CONTESTANTS}
    cpu: dict[str, list[float]] = {c: [] for c in CONTESTANTS}
    accuracy: dict[str, list[float]] = {}
    loads = [fair.load_average()]
    with tempfile.TemporaryDirectory() as tmp:
        data_path = Path(tmp) / "data.npz"
        write_data(data, lrs, data_path)
        for r in range(args.repeat):  # each repeat starts with the next contestant
            for name in CONTESTANTS[r % 3 :] + CONTESTANTS[: r % 3]:
                if name == "caviar":
                    t, c, acc = caviar_run(data, lrs, args.epochs, args.batch)
                else:
                    t, c, acc = peer_run(name, data_path, args)
                cpu[name].append(c)
                if not seconds[name] or t < min(seconds[name]):
                    accuracy[name] = acc
                seconds[name].append(t)
                loads.append(fair.load_average())
    best = {c: min(seconds[c]) for c in CONTESTANTS}
    best_cpu = {c: min(cpu[c]) for c in CONTESTANTS}
    print(
        f"sequences {len(data.X_train)} train, shape {tuple(data.input_shape)}; encoder "
        f"d={D} heads={HEADS} ff={FF} dropout 0.1; Adam batch {args.batch}, {args.epochs} "
        f"epochs, {args.configs} configs; {args.threads} threads; load {loads[0]} -> {loads[-1]}"
    )
    for c in CONTESTANTS:
        lo, hi = min(accuracy[c]), max(accuracy[c])
        runs = ", ".join(f"{t:.2f}" for t in seconds[c])
        print(f"{c:<18}{best[c]:>9.2f} s  val acc {lo:.3f}-{hi:.3f}  runs {runs}")
    print(json.dumps({
        "benchmark": "population_transformer", "quick": bool(args.quick),
        "configs": args.configs, "epochs": args.epochs, "batch": args.batch,
        "threads": args.threads, "repeat": args.repeat, "load_average": loads,
        "seconds": {c: round(best[c], 3) for c in CONTESTANTS},
        "all_seconds": {c: [round(t, 3) for t in seconds[c]] for c in CONTESTANTS},
        "speedup_vs_torch_sequential": round(best["torch_sequential"] / best["caviar"], 3),
        "speedup_vs_naive_vmap": round(best["naive_vmap"] / best["caviar"], 3),
        "cpu_seconds": {c: round(best_cpu[c], 3) for c in CONTESTANTS},
        **{f"cpu_speedup_vs_{c}": round(best_cpu[c] / best_cpu["caviar"], 3)
           for c in CONTESTANTS[1:]},
        "val_accuracy_range": {c: [round(min(a), 4), round(max(a), 4)]
                               for c, a in accuracy.items()},
    }))  # fmt: skip


if __name__ == "__main__":
    main()
