"""Where one population training step spends its time: matrix products against the rest.

The workload of ``benchmarks/population.py`` (digits, MLP 64-128-128-10, Adam, batch 128,
64 configurations, log-uniform learning rate and L2), one population per precision
(``fp32``, ``bf16``). After one warm-up epoch, ``--epochs`` training epochs (no
validation) run under ``torch.profiler``; every operator's self CPU time is put in one
of a few groups (:data:`GROUPS`: the batched matrix products, the optimizer update, the
activation and its backward, the gradient writes with their penalty terms, the loss, the
batch gather, the bf16 casts, the rest) and given as a share of the profiled time; the
same epochs also run without the profiler for the wall time per step.

The limit this measures: if everything but the products took no time, a step would take
the products' time, so ``gemm_only_fraction_of_peak`` (the step's matrix-product FLOPs
over the products' own time, over the ``torch.bmm`` peak that ``population.py``
measures) bounds ``population.py``'s ``fraction_of_gemm_peak``, and ``bf16_speedup_bound``
(the fp32 step over the bf16 products' time) bounds ``speedup_bf16_vs_fp32``.
``--table N`` also prints torch.profiler's table of the top ``N`` operators of each
precision (self CPU time, by input shapes). ``--quick`` profiles a tiny population
(smoke test). The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import caviar  # noqa: F401  (first: torch must load after it, see caviar.openmp)

# isort: split
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import population  # noqa: E402  (benchmarks/population.py: its workload and peak)

#: operator name -> group (operators not listed are "other").
GROUPS = {
    "aten::bmm": "products",
    "aten::baddbmm": "products",
    "aten::mm": "products",
    "aten::addmm": "products",
    "aten::_fused_adam_": "optimizer",
    "aten::_fused_adamw_": "optimizer",
    "aten::relu": "activation",
    "aten::clamp_min": "activation",
    "aten::threshold_backward": "activation",
    "aten::addcmul": "gradient_writes",
    "aten::addcmul_": "gradient_writes",
    "aten::sum": "gradient_writes",
    "aten::copy_": "copies_and_casts",
    "aten::_to_copy": "copies_and_casts",
    "aten::clone": "copies_and_casts",
    "aten::contiguous": "copies_and_casts",
    "aten::index": "batch_gather",
    "aten::_softmax": "loss",
    "aten::_log_softmax": "loss",
    "aten::softmax": "loss",
    "aten::log_softmax": "loss",
    "aten::exp": "loss",
    "aten::logsumexp": "loss",
    "aten::gather": "loss",
    "aten::scatter_add_": "loss",
}


def make_trainer(n: int, precision: str, data):
    from caviar.config import expand_configs
    from caviar.training.trainer import PopulationTrainer

    configs = []
    for i, (lr, l2) in enumerate(population.sample_hypers(n)):
        configs += expand_configs(
            {
                "data": {"source": "digits"},
                "model": {"hidden": population.HIDDEN, "activation": "relu", "init": "he_uniform"},
                "optimizer": {"name": "adam", "lr": lr},
                "penalty": {"l2_kernel": l2},
                "train": {
                    "epochs": 100,
                    "batch_size": 128,
                    "patience": None,
                    "seed": i,
                    "precision": precision,
                },
            }
        )
    return PopulationTrainer(configs, data)


def run_epochs(trainer, epochs: int) -> None:
    for _ in range(epochs):
        trainer.train_epoch()
        trainer.epoch += 1


def profile_one(n: int, precision: str, epochs: int, data, table: int = 0) -> dict:
    """Wall seconds per step and each group's share of the profiled self CPU time;
    ``table > 0`` also prints torch.profiler's table of that many operators (by self CPU
    time, one row per operator and input shapes)."""
    from torch.profiler import ProfilerActivity, profile

    trainer = make_trainer(n, precision, data)
    trainer.epoch = 0
    run_epochs(trainer, 1)  # warm-up: first calls, allocator
    steps = len(trainer._bounds(0)) * epochs
    start = time.perf_counter()
    run_epochs(trainer, epochs)
    wall = time.perf_counter() - start
    for _ in range(2):  # the first profile of a process also times the profiler's start
        with profile(activities=[ProfilerActivity.CPU], record_shapes=table > 0) as prof:
            run_epochs(trainer, epochs)
    if table > 0:
        averages = prof.key_averages(group_by_input_shape=True)
        print(f"{precision}: {steps} steps", flush=True)
        print(averages.table(sort_by="self_cpu_time_total", row_limit=table), flush=True)
    groups: dict[str, float] = defaultdict(float)
    for ev in prof.key_averages():
        groups[GROUPS.get(ev.key, "other")] += ev.self_cpu_time_total / 1e6
    total = sum(groups.values())
    return {
        "step_ms": 1e3 * wall / steps,
        "profiled_step_ms": 1e3 * total / steps,
        "products_ms": 1e3 * groups["products"] / steps,
        "share": {k: round(v / total, 4) for k, v in sorted(groups.items(), key=lambda kv: -kv[1])},
        "steps": steps,
    }


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a tiny population (smoke test)")
    p.add_argument("--configs", type=int, default=64)
    p.add_argument("--epochs", type=int, default=3, help="epochs timed and profiled")
    p.add_argument("--table", type=int, default=0, help="also print the profiler's top N operators")
    args = p.parse_args(argv)
    if args.configs < 1 or args.epochs < 1 or args.table < 0:
        p.error("--configs and --epochs must be at least 1, --table at least 0")
    from caviar.data import prepare_data

    n, epochs = (4, 1) if args.quick else (args.configs, args.epochs)
    data = prepare_data("digits", seed=0)
    sizes = [data.X_train.shape[1], *population.HIDDEN, int(data.n_classes)]
    batch = 128
    out = {name: profile_one(n, name, epochs, data, args.table) for name in ("fp32", "bf16")}
    # the matrix-product FLOPs of one full training step (forward, weight and input grads)
    step_flops = population.training_flops(n, batch, 0, batch, 1, sizes)
    peak = population.gemm_peak(n, batch, sizes)
    fp32, bf16 = out["fp32"], out["bf16"]
    summary = {
        "benchmark": "step_profile",
        "quick": args.quick,
        "configs": n,
        "torch_threads": torch.get_num_threads(),
        "gemm_peak_gflops": round(peak, 1),
        "step_gflop": round(step_flops / 1e9, 4),
        "per_precision": out,
        "fp32_fraction_of_gemm_peak": round(step_flops / (fp32["step_ms"] / 1e3) / 1e9 / peak, 3),
        "gemm_only_fraction_of_peak": round(
            step_flops / (fp32["products_ms"] / 1e3) / 1e9 / peak, 3
        ),
        "products_share_fp32": fp32["share"].get("products", 0.0),
        "products_share_bf16": bf16["share"].get("products", 0.0),
        "speedup_bf16_vs_fp32_step": round(fp32["step_ms"] / bf16["step_ms"], 3),
        "bf16_speedup_bound": round(fp32["step_ms"] / bf16["products_ms"], 3),
    }
    print(json.dumps(summary), flush=True)
    return summary


if __name__ == "__main__":
    main()
