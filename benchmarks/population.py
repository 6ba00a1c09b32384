"""Population training against its peers, measured side by side in one run.

Workload (issue 2): scikit-learn's digits, MLP 64-128-128-10 (ReLU), Adam, batch
128, 50 epochs, 64 configurations with log-uniform learning rate in [1e-4, 1e-2]
and log-uniform L2 kernel penalty in [1e-6, 1e-3]; no early stopping, so every
contestant does the same work. Contestants:

* ``caviar``: the 64 configurations as one population (one vectorized program), in
  its own process at its defaults;
* ``torch_sequential`` (``population_peers.py torch``): the same 64 configurations
  trained one after another in a plain PyTorch loop (``nn.Sequential`` +
  ``torch.optim.Adam``, same batches);
* ``plain_torch_loop`` (``plain_torch_loop.py``): the same loop written independently
  the obvious way, to check the peer above is no slower than it
  (``torch_loop_vs_plain_loop``: the peer's time over it; target within 15%);
* ``sklearn`` (``population_peers.py sklearn``): ``MLPClassifier`` on the same 64
  configurations through joblib, ``alpha = 2 * batch * lambda`` (scikit-learn scales
  its L2 term by ``alpha / (2 * batch)``);
* ``gemm_peak``: the machine's batched-matmul rate (best of ``torch.bmm`` at the
  population's layer shapes and a large square ``bmm``), to express caviar's
  achieved FLOP rate as a fraction of it.

Every contestant runs in its own fresh process (``benchmarks/fair.py``): the peers never
import caviar, get the user's environment without Caviar's variables, and are tried at
1 and 2 torch threads (the PyTorch loops) or ``n_jobs`` 1 and 2 (scikit-learn); the
fastest setting counts and the JSON names it (``peer_settings``, every try in
``peer_tries``). ``load`` lists ``[1-minute load average, runnable tasks]`` before and
after each contestant. The data go to the peers as caviar's prepared splits in a
``.npz`` file.

Every contestant evaluates the validation split after its last epoch; caviar
also evaluates it every epoch (that work is counted in its FLOPs). The JSON also
gives the FLOP bound: caviar's matrix products alone at 100% of the measured peak,
and the largest speedups over the peers that bound allows. Prints a table, then ONE
JSON line with the ratios (last line). ``--quick`` runs a tiny
version (smoke test).

``--precision bf16`` also trains the same population with ``train.precision = "bf16"``
(``caviar.nn.precision``) right after the fp32 one, and adds ``speedup_bf16_vs_fp32``
(target >= 2), ``accuracy_gap_points`` (median over the configurations of fp32 minus
bf16 final validation accuracy, in points; target <= 0.5) and the bf16 ``torch.bmm``
peak. ``--device cuda`` runs caviar, the sequential PyTorch loop and the peaks on that
device (scikit-learn stays on the CPU); ``--peer-sample K`` times only the first ``K``
configurations of the two peers and scales their time to all (printed as such), for
populations too large to train one by one in the time at hand (e.g. 1,024 on a GPU).
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
from population_peers import BATCH, HIDDEN, sample_hypers  # noqa: E402


def caviar_contestant(
    configs: int, epochs: int, precision: str = "fp32", device: str = "cpu"
) -> dict:
    """Caviar's side, in its own process (:func:`fair.run_caviar`): the population in fp32
    (and bf16 when asked), then the machine's ``bmm`` peaks in the same process."""
    import torch

    from caviar.data import prepare_data

    data = prepare_data("digits", seed=0)
    hypers = sample_hypers(configs)
    sizes = [data.X_train.shape[1], *HIDDEN, int(data.n_classes)]
    out = {"threads": torch.get_num_threads()}
    out["seconds"], out["final"] = caviar_run(data, hypers, epochs, BATCH, "fp32", device)
    out["gemm_peak"] = gemm_peak(configs, BATCH, sizes, device=device)
    if precision == "bf16":
        out["bf16_seconds"], out["bf16_final"] = caviar_run(
            data, hypers, epochs, BATCH, "bf16", device
        )
        out["bf16_gemm_peak"] = gemm_peak(configs, BATCH, sizes, torch.bfloat16, device)
    return out


def caviar_run(data, hypers, epochs, batch, precision="fp32", device="cpu"):
    from caviar.config import expand_configs
    from caviar.training.trainer import train_population

    configs = []
    for i, (lr, l2) in enumerate(hypers):
        configs += expand_configs(
            {
                "data": {"source": "digits"},
                "model": {"hidden": HIDDEN, "activation": "relu", "init": "he_uniform"},
                "optimizer": {"name": "adam", "lr": lr},
                "penalty": {"l2_kernel": l2},
                "train": {
                    "epochs": epochs,
                    "batch_size": batch,
                    "patience": None,
                    "seed": i,
                    "precision": precision,
                    "device": device,
                },
            }
        )
    _sync(device)
    start = time.perf_counter()
    result = train_population(configs, data)
    _sync(device)
    seconds = time.perf_counter() - start
    final = [m.history["val_score"][-1] for m in result.members]
    return seconds, final


def write_peer_data(path: str, configs: int) -> dict:
    """Caviar's prepared digits splits and the configurations, for the peers; the sizes
    (training and validation rows, layer widths)."""
    from caviar.data import prepare_data

    data = prepare_data("digits", seed=0)
    hypers = np.array(sample_hypers(configs))
    np.savez(
        path,
        **{k: getattr(data, k) for k in ("X_train", "y_train", "X_val", "y_val")},
        n_classes=int(data.n_classes),
        lr=hypers[:, 0],
        l2=hypers[:, 1],
    )
    sizes = [data.X_train.shape[1], *HIDDEN, int(data.n_classes)]
    return {"n_train": len(data.X_train), "n_val": len(data.X_val), "sizes": sizes}


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def gemm_peak(population: int, batch: int, sizes: list[int], dtype=None, device="cpu"):
    """Best GFLOP/s of torch.bmm at the population's layer shapes and a large square one."""
    import torch

    dtype = dtype or torch.float32
    shapes = [(population, batch, a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    shapes.append((16, 512, 512, 512) if device == "cpu" else (64, 2048, 2048, 2048))
    best = 0.0
    for p, m, k, n in shapes:
        a = torch.randn(p, m, k, dtype=dtype, device=device)
        b = torch.randn(p, k, n, dtype=dtype, device=device)
        for _ in range(3):
            torch.bmm(a, b)
        reps = max(3, int((2e9 if device == "cpu" else 2e12) / (2 * p * m * k * n)))
        _sync(device)
        start = time.perf_counter()
        for _ in range(reps):
            torch.bmm(a, b)
        _sync(device)
        best = max(best, 2 * p * m * k * n * reps / (time.perf_counter() - start) / 1e9)
    return best


def training_flops(population, n_train, n_val, batch, epochs, sizes) -> float:
    """Matmul FLOPs of caviar's run: forward + weight grads + input grads, plus validation."""
    pairs = list(zip(sizes[:-1], sizes[1:], strict=True))
    macs = sum(a * b for a, b in pairs)
    input_grad_macs = sum(a * b for a, b in pairs[1:])  # the first layer needs no input grad
    per_example = 2 * (2 * macs + input_grad_macs)
    return population * epochs * (n_train * per_example + n_val * 2 * macs)


def value_range(values) -> list[float]:
    return [round(float(np.min(values)), 4), round(float(np.max(values)), 4)]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--configs", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument(
        "--precision",
        choices=("fp32", "bf16"),
        default="fp32",
        help="bf16: also train in bf16 and compare (fp32 always runs)",
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument(
        "--peer-sample",
        type=int,
        default=None,
        help="time only this many configurations of the peers, scaled to all",
    )
    args = parser.parse_args(argv)
    if args.configs < 1 or args.epochs < 1 or (args.peer_sample or 1) < 1:
        parser.error("--configs, --epochs and --peer-sample must be at least 1")
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            parser.error(f"--device {args.device}: CUDA is not available")
    if args.quick:
        args.configs, args.epochs = 4, 2
    return args


def run_contestants(n_cfg: int, epochs: int, sample: int, precision: str, device: str) -> dict:
    """Caviar, then each peer at its best setting, every one in its own process."""
    loads = [fair.load_average()]
    with tempfile.TemporaryDirectory(prefix="caviar-population-") as tmp:
        npz = os.path.join(tmp, "digits.npz")
        shape = write_peer_data(npz, n_cfg)
        cav = fair.run_caviar(
            "population.py:caviar_contestant",
            kwargs={"configs": n_cfg, "epochs": epochs, "precision": precision, "device": device},
        )
        loads.append(fair.load_average())
        common = ["--data", npz, "--epochs", str(epochs), "--sample", str(sample)]
        torch_args = ["torch", *common, "--device", device]
        seq = fair.run_peer("population_peers.py", torch_args, fair.TORCH_THREADS)
        loads.append(fair.load_average())
        plain = fair.run_peer("plain_torch_loop.py", common, fair.TORCH_THREADS)
        loads.append(fair.load_average())
        skl = fair.run_peer("population_peers.py", ["sklearn", *common], fair.SKLEARN_JOBS)
        loads.append(fair.load_average())
    return {"caviar": cav, "torch": seq, "plain": plain, "sklearn": skl, "loads": loads, **shape}


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    device, n_cfg, epochs, batch = args.device, args.configs, args.epochs, BATCH
    sample = min(n_cfg, args.peer_sample or n_cfg)
    scale = n_cfg / sample
    runs = run_contestants(n_cfg, epochs, sample, args.precision, device)
    cav, seq, plain, skl = (runs[k] for k in ("caviar", "torch", "plain", "sklearn"))
    t_cav, acc_cav, peak = cav["seconds"], cav["final"], cav["gemm_peak"]
    t_seq, t_skl, t_plain = (r["seconds"] * scale for r in (seq, skl, plain))
    acc_seq, acc_skl = seq["final"], skl["final"]
    sizes = runs["sizes"]
    flops = training_flops(n_cfg, runs["n_train"], runs["n_val"], batch, epochs, sizes)
    achieved = flops / t_cav / 1e9
    print(
        f"digits, MLP {'-'.join(map(str, sizes))}, Adam, batch {batch}, {epochs} epochs, "
        f"{n_cfg} configs, {device}; caviar {cav['threads']} threads (its defaults); each "
        "contestant in its own process, each peer its best setting; load [1-min, runnable] "
        f"{runs['loads']}"
        + (f"; peers timed on {sample} configurations, scaled x{scale:.1f}" if scale > 1 else "")
    )
    print(f"{'contestant':<18}{'seconds':>10}{'val acc min':>13}{'val acc max':>13}  setting")
    rows = [("caviar", t_cav, acc_cav, "defaults")]
    if args.precision == "bf16":
        rows.append(("caviar bf16", cav["bf16_seconds"], cav["bf16_final"], "defaults"))
    rows += [
        ("torch_sequential", t_seq, acc_seq, seq["setting"]),
        ("plain torch loop", t_plain, plain["final"], plain["setting"]),
        ("sklearn", t_skl, acc_skl, skl["setting"]),
    ]
    for name, t, acc, setting in rows:
        print(f"{name:<18}{t:>10.2f}{min(acc):>13.4f}{max(acc):>13.4f}  {setting}")
    bound = flops / peak / 1e9  # caviar's matrix products alone at 100% of the peak
    print(f"gemm peak {peak:.1f} GFLOP/s; caviar achieved {achieved:.1f} GFLOP/s")
    print(
        f"FLOP bound: {bound:.2f} s at 100% of the peak, i.e. at most "
        f"{t_seq / bound:.2f}x the sequential loop and {t_skl / bound:.2f}x scikit-learn"
    )
    summary = {
        "benchmark": "population",
        "configs": n_cfg,
        "epochs": epochs,
        "device": device,
        "peer_sample": sample,
        "caviar_threads": cav["threads"],
        "load": runs["loads"],
        "peer_settings": {
            "torch_sequential": seq["setting"],
            "plain_torch_loop": plain["setting"],
            "sklearn": skl["setting"],
        },
        "peer_tries": {"torch_sequential": seq["tried"], "sklearn": skl["tried"]},
        "peer_processes": fair.process_checks(
            torch_sequential=seq, plain_torch_loop=plain, sklearn=skl
        ),
        "seconds": {
            "caviar": round(t_cav, 3),
            "torch_sequential": round(t_seq, 3),
            "plain_torch_loop": round(t_plain, 3),
            "sklearn": round(t_skl, 3),
        },
        "speedup_vs_torch_sequential": round(t_seq / t_cav, 3),
        "speedup_vs_sklearn": round(t_skl / t_cav, 3),
        "torch_loop_vs_plain_loop": round(t_seq / t_plain, 3),
        "fraction_of_gemm_peak": round(achieved / peak, 3),
        "gemm_peak_gflops": round(peak, 1),
        "flop_bound_seconds": round(bound, 3),
        "max_speedup_vs_torch_sequential_at_peak": round(t_seq / bound, 3),
        "max_speedup_vs_sklearn_at_peak": round(t_skl / bound, 3),
        "caviar_gflops": round(achieved, 1),
        "val_accuracy_range": {
            "caviar": value_range(acc_cav),
            "torch_sequential": value_range(acc_seq),
            "plain_torch_loop": value_range(plain["final"]),
            "sklearn": value_range(acc_skl),
        },
    }
    if args.precision == "bf16":
        add_bf16(summary, cav, flops, t_seq)
    print(json.dumps(summary), flush=True)
    return summary


def add_bf16(summary: dict, cav: dict, flops: float, t_seq: float) -> None:
    t_bf16, acc_bf16, peak16 = cav["bf16_seconds"], cav["bf16_final"], cav["bf16_gemm_peak"]
    gap = 100 * float(np.median(np.array(cav["final"]) - np.array(acc_bf16)))
    summary["seconds"]["caviar_bf16"] = round(t_bf16, 3)
    summary["val_accuracy_range"]["caviar_bf16"] = value_range(acc_bf16)
    summary.update(
        speedup_bf16_vs_fp32=round(cav["seconds"] / t_bf16, 3),
        accuracy_gap_points=round(gap, 3),
        bf16_gemm_peak_gflops=round(peak16, 1),
        bf16_fraction_of_bf16_gemm_peak=round(flops / t_bf16 / 1e9 / peak16, 3),
        bf16_speedup_vs_torch_sequential=round(t_seq / t_bf16, 3),
    )


if __name__ == "__main__":
    main()
