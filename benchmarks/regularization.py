"""Cost of the regularization toolkit relative to the plain population, side by side.

Same data (digits), same population size P, same epochs and batch size; only the
regularizers differ. Variants run interleaved (plain, dropout, batch_norm,
augment, all, plain, ...) ``--repeats`` times and each variant's median wall
time is divided by the plain population's. A second measurement compares the
per-member random streams used for dropout masks (counter-based hashing, one
batched call) with the alternative of one ``torch.Generator`` per member (a
Python loop over P). The last printed line is one JSON object.

    python benchmarks/regularization.py [--quick] [--population 32] [--epochs 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import caviar  # noqa: F401  (first: torch must load after it, see caviar.openmp)

# isort: split
import torch

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.nn import random as rnd
from caviar.training.trainer import train_population

VARIANTS = {
    "plain": {},
    "dropout": {"model": {"dropout": 0.2, "input_dropout": 0.1}},
    "batch_norm": {"model": {"batch_norm": True}},
    "augment": {"augment": {"interpolate": 0.3, "rotate": 8.0}, "noise": {"input": 0.05}},
    "all": {
        "model": {"dropout": 0.2, "input_dropout": 0.1, "batch_norm": True},
        "augment": {"interpolate": 0.3, "rotate": 8.0},
        "noise": {"input": 0.05},
    },
}


def configs(variant: str, population: int, epochs: int, hidden: list[int]):
    raw = {
        "data": {"source": "digits"},
        "model": {"hidden": hidden},
        "optimizer": {
            "name": "adam",
            "lr": [10 ** (-3 + i / population) for i in range(population)],
        },
        "train": {"epochs": epochs, "batch_size": 64, "patience": None},
    }
    for section, values in VARIANTS[variant].items():
        raw.setdefault(section, {}).update(values)
    return expand_configs(raw)


def time_streams(population: int, shape: tuple[int, int], repeats: int) -> dict[str, float]:
    """Seconds per ``(P, *shape)`` dropout keep-mask: hashed streams vs P generators."""
    seeds = torch.arange(population)
    rate = torch.full((population,), 0.2)
    gens = [torch.Generator().manual_seed(s) for s in range(population)]

    def hashed() -> None:
        rnd.bernoulli_keep(seeds, rnd.STREAM_DROPOUT, 7, shape, rate)  # as dropout does

    def looped() -> None:
        torch.stack([torch.rand(shape, generator=g) >= 0.2 for g in gens])

    out = {}
    for name, fn in (("hashed", hashed), ("generator_loop", looped)):
        fn()
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            for _ in range(20):
                fn()
            times.append((time.perf_counter() - t) / 20)
        out[name] = statistics.median(times)
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke test)")
    parser.add_argument("--population", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1: stable ratios on a shared 2-core machine)",
    )
    args = parser.parse_args(argv)
    P, epochs, repeats, hidden = args.population, args.epochs, args.repeats, [64, 64]
    if args.quick:
        P, epochs, repeats, hidden = 4, 1, 1, [16]
    torch.set_num_threads(max(1, args.threads))
    data = prepare_data("digits", seed=0)
    runs = {name: configs(name, P, epochs, hidden) for name in VARIANTS}
    train_population(runs["plain"], data)  # warm-up
    seconds: dict[str, list[float]] = {name: [] for name in VARIANTS}
    for _ in range(repeats):
        for name, cfgs in runs.items():
            t = time.perf_counter()
            train_population(cfgs, data)
            seconds[name].append(time.perf_counter() - t)
    median = {k: statistics.median(v) for k, v in seconds.items()}
    ratios = {k: median[k] / median["plain"] for k in VARIANTS if k != "plain"}
    streams = time_streams(P, (64, hidden[0]), repeats)
    for name in VARIANTS:
        print(f"{name:>11}: {median[name]:.3f} s  x{median[name] / median['plain']:.2f}")
    print(
        f"dropout masks (P={P}, 64x{hidden[0]}): hashed {streams['hashed'] * 1e6:.0f} us, "
        f"one generator per member {streams['generator_loop'] * 1e6:.0f} us"
    )
    result = {
        "benchmark": "regularization",
        "population": P,
        "epochs": epochs,
        "repeats": repeats,
        "threads": torch.get_num_threads(),
        "seconds": median,
        "ratio_vs_plain": ratios,
        "mask_seconds": streams,
        "mask_ratio_generator_loop_vs_hashed": streams["generator_loop"] / streams["hashed"],
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
