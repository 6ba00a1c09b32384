"""A population of GRU classifiers against its peers, side by side in one run (issue 24).

Workload: the seeded synthetic shape-classification signals
(:func:`caviar.data.synthetic.make_signals`: ``--examples`` signals of ``--length`` steps,
one channel, 4 balanced classes; 60/20/20 split) read as sequences by a GRU of 64 units
whose final state feeds a linear output layer (caviar's built-in ``model.kind = "rnn"``,
``cell = "gru"``, ``hidden = []``), Adam, batch 128, ``--configs`` configurations with
log-uniform learning rates in [1e-3, 1e-2]; no early stopping. Every contestant starts
member ``p`` from the same initial weights (the built-in model's under seed ``p``), visits
the same batches (caviar's shared order) and reports the final validation accuracy.

* ``caviar``: the configurations as ONE population (``train_population``; it also
  validates every epoch), in this process;
* ``loop`` (:mod:`population_rnn_peers`, its own process, no caviar): one after another,
  torch's own ``nn.GRU``;
* ``naive_vmap`` (likewise): the torch.func recipe, ``stack_module_state`` +
  ``functional_call`` + ``vmap`` + one Adam, over the same GRU written with ``F.linear``
  (``nn.GRU`` has no batching rule).

Every contestant runs with ``--threads`` torch threads (default 1); a peer runs through
``benchmarks/fair.py`` (a fresh process that must not import caviar, the environment this
one started with less Caviar's ``CAVIAR_*`` and OpenMP wait variables; ``processes`` in
the JSON records what each loaded and saw). ``--repeat R`` interleaves R rounds (each
starting with the next contestant) and keeps each one's fastest. Prints a table, then ONE
JSON line with the speedups
``speedup_vs_loop`` and ``speedup_vs_naive_vmap`` (wall clock), each one's seconds,
accuracies and the load average, and the same ratios of CPU time (``cpu_speedup_*``: each
process's CPU seconds over its training; on a shared, busy machine the wall clock measures
the other processes as much as the contestant, the CPU time of a 1-thread run much less).
``--quick``: a tiny run (smoke test).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fair  # noqa: E402  (benchmarks/ is no package)

from caviar.config import expand_configs  # noqa: E402
from caviar.data import prepare_arrays  # noqa: E402
from caviar.data.synthetic import make_signals  # noqa: E402
from caviar.nn.factory import build_member  # noqa: E402
from caviar.nn.sequence import build_rnn  # noqa: E402
from caviar.training.trainer import train_population  # noqa: E402

HERE = Path(__file__).resolve().parent
HIDDEN = 64
MODEL = {
    "kind": "rnn",
    "cell": "gru",
    "hidden_size": HIDDEN,
    "hidden": [],
    "output_init": "default",
}
CONTESTANTS = ("caviar", "loop", "naive_vmap")


def sample_rates(n: int, seed: int = 0) -> list[float]:
    """``n`` learning rates, log-uniform in [1e-3, 1e-2]."""
    return [float(r) for r in 10 ** np.random.default_rng(seed).uniform(-3, -2, n)]


def write_peer_data(path: Path, data, rates: list[float]) -> None:
    """The splits, the rates and every member's initial weights, for the peers."""
    shape = (-1, *data.input_shape)
    cfg = {**MODEL, "input_shape": list(data.input_shape), "n_outputs": int(data.n_classes)}
    nets = [build_member(build_rnn, cfg, p).state_dict() for p in range(len(rates))]
    init = {f"init:{n}": np.stack([s[n].numpy() for s in nets]) for n in nets[0]}
    np.savez(
        path,
        X_train=np.asarray(data.X_train, np.float32).reshape(shape),
        y_train=np.asarray(data.y_train, np.int64),
        X_val=np.asarray(data.X_val, np.float32).reshape(shape),
        y_val=np.asarray(data.y_val, np.int64),
        n_classes=int(data.n_classes),
        hidden=HIDDEN,
        lr=np.asarray(rates),
        **init,
    )


def caviar_run(data, rates, epochs, batch, _path, _threads):  # noqa: ANN001
    configs = []
    for p, lr in enumerate(rates):
        configs += expand_configs(
            {
                "data": {"source": "arrays"},
                "model": MODEL,
                "optimizer": {"name": "adam", "lr": lr},
                "train": {"epochs": epochs, "batch_size": batch, "patience": None, "seed": p},
            }
        )
    start, cpu = time.perf_counter(), time.process_time()
    result = train_population(configs, data)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return seconds, cpu, [m.history["val_score"][-1] for m in result.members]


def peer_run(name: str):  # noqa: ANN201
    """A peer of :mod:`population_rnn_peers` in its own process (:func:`fair.run_peer`:
    no caviar imported, the user's environment less Caviar's variables)."""

    def run(_data, _rates, epochs, batch, path, threads):  # noqa: ANN001
        args = [name, "--data", str(path), "--epochs", str(epochs), "--batch", str(batch)]
        result = fair.run_peer("population_rnn_peers.py", args, ({"threads": threads},))
        CHECKS[name] = result
        return result["seconds"], result["cpu_seconds"], result["final"]

    return run


CHECKS: dict[str, dict] = {}
RUNNERS = {"caviar": caviar_run, "loop": peer_run("loop"), "naive_vmap": peer_run("naive_vmap")}


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


def parse_args(argv=None) -> argparse.Namespace:  # noqa: ANN001
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="tiny smoke run")
    p.add_argument("--configs", type=int, default=32)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--examples", type=int, default=2000, help="signals generated (all splits)")
    p.add_argument("--length", type=int, default=32, help="time steps per signal")
    p.add_argument("--threads", type=int, default=1, help="torch threads for every one")
    p.add_argument("--repeat", type=int, default=1, help="interleaved rounds; fastest kept")
    args = p.parse_args(argv)
    for flag, value, low in (
        ("--configs", args.configs, 1),
        ("--epochs", args.epochs, 1),
        ("--batch", args.batch, 1),
        ("--examples", args.examples, 40),
        ("--length", args.length, 8),
        ("--threads", args.threads, 1),
        ("--repeat", args.repeat, 1),
    ):
        if value < low:
            p.error(f"{flag} must be at least {low}, got {value}")
    if args.quick:
        args.configs, args.epochs, args.examples, args.length = 3, 1, 200, 12
    return args


def main(argv=None) -> None:  # noqa: ANN001
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    X, y = make_signals(args.examples, args.length, n_classes=4, seed=0)
    data = prepare_arrays(X, y, seed=0)
    rates = sample_rates(args.configs)
    seconds: dict[str, list[float]] = {c: [] for c in CONTESTANTS}
    cpu: dict[str, list[float]] = {c: [] for c in CONTESTANTS}
    accuracy: dict[str, list[float]] = {}
    loads = [load_average()]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "peer_data.npz"
        write_peer_data(path, data, rates)
        for r in range(args.repeat):  # each round starts with the next contestant
            for name in CONTESTANTS[r % 3 :] + CONTESTANTS[: r % 3]:
                t, c, acc = RUNNERS[name](data, rates, args.epochs, args.batch, path, args.threads)
                if not seconds[name] or t < min(seconds[name]):
                    accuracy[name] = acc
                seconds[name].append(t)
                cpu[name].append(c)
                loads.append(load_average())
    report(args, data, seconds, cpu, accuracy, loads)


def report(args, data, seconds, cpu, accuracy, loads) -> None:  # noqa: ANN001
    best = {c: min(seconds[c]) for c in CONTESTANTS}
    least = {c: min(cpu[c]) for c in CONTESTANTS}
    span = {c: [round(min(accuracy[c]), 4), round(max(accuracy[c]), 4)] for c in CONTESTANTS}
    apart = {
        c: round(float(np.max(np.abs(np.subtract(accuracy[c], accuracy["caviar"])))), 4)
        for c in CONTESTANTS[1:]
    }
    print(
        f"signals {len(data.X_train)} train, shape {tuple(data.input_shape)}; GRU {HIDDEN} + "
        f"linear; Adam, batch {args.batch}, {args.epochs} epochs, {args.configs} configs; "
        f"{args.threads} torch threads; repeat {args.repeat}; load {loads[0]} -> {loads[-1]}"
    )
    print(
        f"{'contestant':<14}{'seconds':>10}{'cpu s':>10}{'val acc min':>13}{'val acc max':>13}"
        "  all runs"
    )
    for c in CONTESTANTS:
        runs = ", ".join(f"{t:.2f}" for t in seconds[c])
        print(
            f"{c:<14}{best[c]:>10.2f}{least[c]:>10.2f}{span[c][0]:>13.4f}{span[c][1]:>13.4f}"
            f"  {runs}"
        )
    summary = {
        "benchmark": "population_rnn",
        "quick": bool(args.quick),
        "configs": args.configs,
        "epochs": args.epochs,
        "batch": args.batch,
        "length": args.length,
        "hidden": HIDDEN,
        "threads": args.threads,
        "repeat": args.repeat,
        "load_average": loads,
        "seconds": {c: round(best[c], 3) for c in CONTESTANTS},
        "all_seconds": {c: [round(t, 3) for t in seconds[c]] for c in CONTESTANTS},
        "speedup_vs_loop": round(best["loop"] / best["caviar"], 3),
        "speedup_vs_naive_vmap": round(best["naive_vmap"] / best["caviar"], 3),
        "cpu_seconds": {c: round(least[c], 3) for c in CONTESTANTS},
        "cpu_speedup_vs_loop": round(least["loop"] / least["caviar"], 3),
        "cpu_speedup_vs_naive_vmap": round(least["naive_vmap"] / least["caviar"], 3),
        "val_accuracy_range": span,
        "processes": fair.process_checks(**CHECKS),
        "max_accuracy_difference_vs_caviar": apart,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
