"""The peers of ``benchmarks/population_cnn.py``, run by :mod:`fair` in their own
processes (this file never imports caviar): the configurations trained one after another
by a plain PyTorch loop (``torch``), and the torch.func "model ensembling" approach
(``vmap``: ``stack_module_state`` + ``functional_call`` + ``vmap``, one Adam over the
stacked parameters, each member's step scaled by its own rate).

    python benchmarks/population_cnn_peers.py torch --data D.npz --epochs 20 --threads 1

``D.npz`` (written by ``population_cnn.py``) holds the prepared splits (``X_train``,
``y_train``, ``X_val``, ``y_val``), ``input_shape``, ``n_classes``, the configurations'
``lr`` and ``l2``, and each member's initial weights (``init{p}.{parameter}``: the
built-in CNN's, built under seed ``p``). Last line: one JSON object (``seconds``,
``final`` validation accuracies).
"""

from __future__ import annotations

import argparse
import copy
import json
import time

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

CHANNELS, KERNEL = [32, 32, 32], 3


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
    """Member ``seed``'s starting network: ``plain_cnn`` with the built-in CNN's weights
    (``init{seed}.*`` in the data file)."""
    c, length = data.input_shape
    net = plain_cnn(c, length, int(data.n_classes))
    prefix = f"init{seed}."
    net.load_state_dict(
        {
            k[len(prefix) :]: torch.as_tensor(v)
            for k, v in data.weights.items()
            if k.startswith(prefix)
        }
    )
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


RUNNERS = {"torch": torch_sequential_run, "vmap": naive_vmap_run}


class Data:
    """The arrays of the data file as attributes; ``weights`` the initial weights."""

    def __init__(self, path: str) -> None:
        with np.load(path) as f:
            arrays = {k: f[k] for k in f.files}
        for k in ("X_train", "y_train", "X_val", "y_val"):
            setattr(self, k, arrays[k])
        self.input_shape = tuple(int(v) for v in arrays["input_shape"])
        self.n_classes = int(arrays["n_classes"])
        self.hypers = list(zip(arrays["lr"].tolist(), arrays["l2"].tolist(), strict=True))
        self.weights = {k: v for k, v in arrays.items() if k.startswith("init")}


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("peer", choices=sorted(RUNNERS))
    p.add_argument("--data", required=True)
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    data = Data(args.data)
    seconds, final = RUNNERS[args.peer](data, data.hypers, args.epochs, args.batch)
    out = {"seconds": seconds, "final": final, "threads": torch.get_num_threads()}
    print(json.dumps(out), flush=True)
    return out


if __name__ == "__main__":
    main()
