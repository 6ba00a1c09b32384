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


def caviar_run(data, hypers, epochs, batch):
    configs = []
    for i, (lr, l2) in enumerate(hypers):
        configs += expand_configs(
            {
                "data": {"source": "digits"},
                "model": {"hidden": HIDDEN, "activation": "relu", "init": "he_uniform"},
                "optimizer": {"name": "adam", "lr": lr},
                "penalty": {"l2_kernel": l2},
                "train": {"epochs": epochs, "batch_size": batch, "patience": None, "seed": i},
            }
        )
    start = time.perf_counter()
    result = train_population(configs, data)
    seconds = time.perf_counter() - start
    final = [m.history["val_score"][-1] for m in result.members]
    return seconds, final


def torch_one(data, lr, l2, epochs, batch, seed):
    torch.manual_seed(seed)
    x = torch.as_tensor(data.X_train, dtype=torch.float32)
    y = torch.as_tensor(data.y_train, dtype=torch.long)
    xv = torch.as_tensor(data.X_val, dtype=torch.float32)
    yv = torch.as_tensor(data.y_val, dtype=torch.long)
    sizes = [x.shape[1], *HIDDEN, int(data.n_classes)]
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    kernels = [m.weight for m in net if isinstance(m, torch.nn.Linear)]
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(0)
    n = x.shape[0]
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        for s in range(0, n, batch):
            idx = perm[s : s + batch]
            loss = torch.nn.functional.cross_entropy(net(x[idx]), y[idx])
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


def gemm_peak(population: int, batch: int, sizes: list[int]) -> float:
    """Best GFLOP/s of torch.bmm at the population's layer shapes and a large square one."""
    shapes = [(population, batch, a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    shapes.append((16, 512, 512, 512))
    best = 0.0
    for p, m, k, n in shapes:
        a, b = torch.randn(p, m, k), torch.randn(p, k, n)
        for _ in range(3):
            torch.bmm(a, b)
        reps = max(3, int(2e9 / (2 * p * m * k * n)))
        start = time.perf_counter()
        for _ in range(reps):
            torch.bmm(a, b)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--configs", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=50)
    args = parser.parse_args()
    n_cfg, epochs, batch = (8, 2, 128) if args.quick else (args.configs, args.epochs, 128)
    data = prepare_data("digits", seed=0)
    hypers = sample_hypers(n_cfg)
    sizes = [data.X_train.shape[1], *HIDDEN, int(data.n_classes)]

    t_cav, acc_cav = caviar_run(data, hypers, epochs, batch)
    t_seq, acc_seq = torch_sequential_run(data, hypers, epochs, batch)
    t_skl, acc_skl = sklearn_run(data, hypers, epochs, batch)
    peak = gemm_peak(n_cfg, batch, sizes)
    flops = training_flops(n_cfg, len(data.X_train), len(data.X_val), batch, epochs, sizes)
    achieved = flops / t_cav / 1e9

    print(
        f"digits, MLP {'-'.join(map(str, sizes))}, Adam, batch {batch}, "
        f"{epochs} epochs, {n_cfg} configs, {torch.get_num_threads()} threads"
    )
    print(f"{'contestant':<18}{'seconds':>10}{'val acc min':>13}{'val acc max':>13}")
    for name, t, acc in (
        ("caviar", t_cav, acc_cav),
        ("torch_sequential", t_seq, acc_seq),
        ("sklearn n_jobs=2", t_skl, acc_skl),
    ):
        print(f"{name:<18}{t:>10.2f}{min(acc):>13.4f}{max(acc):>13.4f}")
    bound = flops / peak / 1e9  # caviar's matrix products alone at 100% of the peak
    print(f"gemm peak {peak:.1f} GFLOP/s; caviar achieved {achieved:.1f} GFLOP/s")
    print(
        f"FLOP bound: {bound:.2f} s at 100% of the peak, i.e. at most "
        f"{t_seq / bound:.2f}x the sequential loop and {t_skl / bound:.2f}x scikit-learn"
    )
    print(
        json.dumps(
            {
                "benchmark": "population",
                "configs": n_cfg,
                "epochs": epochs,
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
        )
    )


if __name__ == "__main__":
    main()
