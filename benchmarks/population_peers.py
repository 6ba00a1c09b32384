"""The peers of ``benchmarks/population.py``, run by :mod:`fair` in their own processes
(this file never imports caviar): the 64 configurations trained one after another in a
plain PyTorch loop, and scikit-learn's ``MLPClassifier`` on them through joblib.

    python benchmarks/population_peers.py torch   --data D.npz --epochs 50 --threads 2
    python benchmarks/population_peers.py sklearn --data D.npz --epochs 50 --n-jobs 2

``D.npz`` (written by ``population.py``) holds caviar's prepared digits splits
(``X_train``, ``y_train``, ``X_val``, ``y_val``), ``n_classes`` and the configurations'
``lr`` and ``l2`` arrays. ``--sample K`` trains only the first K configurations. The
last line printed is one JSON object: ``seconds`` and each configuration's final
validation accuracy (``final``).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np

HIDDEN = [128, 128]
BATCH = 128


def sample_hypers(n: int, seed: int = 0) -> list[tuple[float, float]]:
    """``n`` (learning rate, L2 λ) pairs, log-uniform in [1e-4, 1e-2] and [1e-6, 1e-3]."""
    rng = np.random.default_rng(seed)
    lrs = 10 ** rng.uniform(-4, -2, n)
    l2s = 10 ** rng.uniform(-6, -3, n)
    return [(float(a), float(b)) for a, b in zip(lrs, l2s, strict=True)]


def torch_one(data, lr, l2, epochs, batch, seed, device="cpu"):
    """One configuration: ``nn.Sequential`` + ``torch.optim.Adam``, loss cross-entropy
    + ``λ Σ ||W||²`` over the kernels, the shared shuffled order (generator seed 0)."""
    import torch

    torch.manual_seed(seed)
    x = torch.as_tensor(data["X_train"], dtype=torch.float32, device=device)
    y = torch.as_tensor(data["y_train"], dtype=torch.long, device=device)
    xv = torch.as_tensor(data["X_val"], dtype=torch.float32, device=device)
    yv = torch.as_tensor(data["y_val"], dtype=torch.long, device=device)
    sizes = [x.shape[1], *HIDDEN, int(data["n_classes"])]
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


def torch_sequential(data, hypers, epochs, threads, device="cpu") -> dict:
    import torch

    torch.set_num_threads(threads)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    final = [torch_one(data, lr, l2, epochs, BATCH, i, device) for i, (lr, l2) in enumerate(hypers)]
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return {"seconds": time.perf_counter() - start, "final": final, "threads": threads}


def sklearn_one(data, lr, l2, epochs, batch, seed):
    """``MLPClassifier`` with ``alpha = 2 · batch · λ`` (scikit-learn scales its L2 term
    by ``alpha / (2 · batch)``), no early stopping, ``epochs`` passes."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

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
    clf.fit(data["X_train"], data["y_train"])
    return float(clf.score(data["X_val"], data["y_val"]))


def sklearn_parallel(data, hypers, epochs, n_jobs) -> dict:
    from joblib import Parallel, delayed

    arrays = {k: data[k] for k in ("X_train", "y_train", "X_val", "y_val")}
    start = time.perf_counter()
    final = Parallel(n_jobs=n_jobs)(
        delayed(sklearn_one)(arrays, lr, l2, epochs, BATCH, i) for i, (lr, l2) in enumerate(hypers)
    )
    return {"seconds": time.perf_counter() - start, "final": list(final), "n_jobs": n_jobs}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("peer", choices=("torch", "sklearn"))
    p.add_argument("--data", required=True, help="the .npz population.py wrote")
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--sample", type=int, default=None, help="first K configurations only")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    p.add_argument("--n-jobs", type=int, default=2, help="scikit-learn's processes")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    with np.load(args.data) as f:
        data = {k: f[k] for k in f.files}
    hypers = list(zip(data["lr"].tolist(), data["l2"].tolist(), strict=True))[: args.sample]
    if args.peer == "torch":
        import torch

        threads = args.threads or torch.get_num_threads()
        out = torch_sequential(data, hypers, args.epochs, threads, args.device)
    else:
        out = sklearn_parallel(data, hypers, args.epochs, args.n_jobs)
    print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    main()
