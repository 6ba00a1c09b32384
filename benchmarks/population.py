"""Population training against its peers, measured side by side in one run.

Workload (issue 2): scikit-learn's digits, MLP 64-128-128-10 (ReLU), Adam, batch
128, 50 epochs, 64 configurations with log-uniform learning rate in [1e-4, 1e-2]
and log-uniform L2 kernel penalty in [1e-6, 1e-3]; no early stopping, so every
contestant does the same work. Contestants:

* ``caviar``: the 64 configurations as one population (one vectorized program);
* ``torch_sequential``: the same 64 configurations trained one after another in a
  plain PyTorch loop (``nn.Sequential`` + ``torch.optim.Adam``, same batches);
* ``sklearn``: ``MLPClassifier`` on the same 64 configurations, ``n_jobs=2``
  (joblib), ``alpha = 2 * batch * lambda`` (scikit-learn scales its L2 term by
  ``alpha / (2 * batch)``);
* ``gemm_peak``: the machine's batched-matmul rate (best of ``torch.bmm`` at the
  population's layer shapes and a large square ``bmm``), to express caviar's
  achieved FLOP rate as a fraction of it.

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
import time

import caviar  # noqa: F401  (first: it sets OMP_WAIT_POLICY before torch loads)

# isort: split
import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.training.trainer import train_population

HIDDEN = [128, 128]


def sample_hypers(n: int, seed: int = 0) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    lrs = 10 ** rng.uniform(-4, -2, n)
    l2s = 10 ** rng.uniform(-6, -3, n)
    return [(float(a), float(b)) for a, b in zip(lrs, l2s, strict=True)]


def caviar_run(data, hypers, epochs, batch, precision="fp32", device="cpu"):
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
    start = time.perf_counter()
    result = train_population(configs, data)
    seconds = time.perf_counter() - start
    final = [m.history["val_score"][-1] for m in result.members]
    return seconds, final


def torch_one(data, lr, l2, epochs, batch, seed, device="cpu"):
    torch.manual_seed(seed)
    x = torch.as_tensor(data.X_train, dtype=torch.float32, device=device)
    y = torch.as_tensor(data.y_train, dtype=torch.long, device=device)
    xv = torch.as_tensor(data.X_val, dtype=torch.float32, device=device)
    yv = torch.as_tensor(data.y_val, dtype=torch.long, device=device)
    sizes = [x.shape[1], *HIDDEN, int(data.n_classes)]
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers).to(device)
    kernels = [m.weight for m in net if isinstance(m, torch.nn.Linear)]
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(0)
    n = x.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen).to(device)
        for s in range(0, n, batch):
            idx = perm[s : s + batch]
            loss = torch.nn.functional.cross_entropy(net(x[idx]), y[idx])
            loss = loss + l2 * sum((w * w).sum() for w in kernels)
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        return float((net(xv).argmax(1) == yv).float().mean())


def torch_sequential_run(data, hypers, epochs, batch, device="cpu"):
    start = time.perf_counter()
    final = [torch_one(data, lr, l2, epochs, batch, i, device) for i, (lr, l2) in enumerate(hypers)]
    return time.perf_counter() - start, final


def sklearn_one(data, lr, l2, epochs, batch, seed):
    import warnings

    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    clf = MLPClassifier(
        hidden_layer_sizes=tuple(HIDDEN),
        activation="relu",
        solver="adam",
        learning_rate_init=lr,
        alpha=2 * batch * l2,
        batch_size=batch,
        max_iter=epochs,
        shuffle=True,
        random_state=seed,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        early_stopping=False,
    )
    clf.fit(data.X_train, data.y_train)
    return float(clf.score(data.X_val, data.y_val))


def sklearn_run(data, hypers, epochs, batch):
    start = time.perf_counter()
    final = Parallel(n_jobs=2)(
        delayed(sklearn_one)(data, lr, l2, epochs, batch, i) for i, (lr, l2) in enumerate(hypers)
    )
    return time.perf_counter() - start, list(final)


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def gemm_peak(population: int, batch: int, sizes: list[int], dtype=torch.float32, device="cpu"):
    """Best GFLOP/s of torch.bmm at the population's layer shapes and a large square one."""
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


def main(argv: list[str] | None = None) -> dict:
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
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error(f"--device {args.device}: CUDA is not available")
    device = args.device
    n_cfg, epochs, batch = (8, 2, 128) if args.quick else (args.configs, args.epochs, 128)
    data = prepare_data("digits", seed=0)
    hypers = sample_hypers(n_cfg)
    sizes = [data.X_train.shape[1], *HIDDEN, int(data.n_classes)]
    sample = min(n_cfg, args.peer_sample or n_cfg)
    scale = n_cfg / sample

    t_cav, acc_cav = caviar_run(data, hypers, epochs, batch, device=device)
    t_bf16 = acc_bf16 = None
    if args.precision == "bf16":
        t_bf16, acc_bf16 = caviar_run(data, hypers, epochs, batch, "bf16", device)
    t_seq, acc_seq = torch_sequential_run(data, hypers[:sample], epochs, batch, device)
    t_skl, acc_skl = sklearn_run(data, hypers[:sample], epochs, batch)
    t_seq, t_skl = t_seq * scale, t_skl * scale
    peak = gemm_peak(n_cfg, batch, sizes, device=device)
    flops = training_flops(n_cfg, len(data.X_train), len(data.X_val), batch, epochs, sizes)
    achieved = flops / t_cav / 1e9

    print(
        f"digits, MLP {'-'.join(map(str, sizes))}, Adam, batch {batch}, "
        f"{epochs} epochs, {n_cfg} configs, {torch.get_num_threads()} threads, {device}"
        + (f"; peers timed on {sample} configurations, scaled x{scale:.1f}" if scale > 1 else "")
    )
    print(f"{'contestant':<18}{'seconds':>10}{'val acc min':>13}{'val acc max':>13}")
    rows = [("caviar", t_cav, acc_cav)]
    if t_bf16 is not None:
        rows.append(("caviar bf16", t_bf16, acc_bf16))
    rows += [("torch_sequential", t_seq, acc_seq), ("sklearn n_jobs=2", t_skl, acc_skl)]
    for name, t, acc in rows:
        print(f"{name:<18}{t:>10.2f}{min(acc):>13.4f}{max(acc):>13.4f}")
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
        "seconds": {
            "caviar": round(t_cav, 3),
            "torch_sequential": round(t_seq, 3),
            "sklearn": round(t_skl, 3),
        },
        "speedup_vs_torch_sequential": round(t_seq / t_cav, 3),
        "speedup_vs_sklearn": round(t_skl / t_cav, 3),
        "fraction_of_gemm_peak": round(achieved / peak, 3),
        "gemm_peak_gflops": round(peak, 1),
        "flop_bound_seconds": round(bound, 3),
        "max_speedup_vs_torch_sequential_at_peak": round(t_seq / bound, 3),
        "max_speedup_vs_sklearn_at_peak": round(t_skl / bound, 3),
        "caviar_gflops": round(achieved, 1),
        "val_accuracy_range": {
            "caviar": value_range(acc_cav),
            "torch_sequential": value_range(acc_seq),
            "sklearn": value_range(acc_skl),
        },
    }
    if t_bf16 is not None:
        peak16 = gemm_peak(n_cfg, batch, sizes, torch.bfloat16, device)
        gap = 100 * float(np.median(np.array(acc_cav) - np.array(acc_bf16)))
        summary["seconds"]["caviar_bf16"] = round(t_bf16, 3)
        summary["val_accuracy_range"]["caviar_bf16"] = value_range(acc_bf16)
        summary.update(
            speedup_bf16_vs_fp32=round(t_cav / t_bf16, 3),
            accuracy_gap_points=round(gap, 3),
            bf16_gemm_peak_gflops=round(peak16, 1),
            bf16_fraction_of_bf16_gemm_peak=round(flops / t_bf16 / 1e9 / peak16, 3),
            bf16_speedup_vs_torch_sequential=round(t_seq / t_bf16, 3),
        )
    print(json.dumps(summary), flush=True)
    return summary


if __name__ == "__main__":
    main()
