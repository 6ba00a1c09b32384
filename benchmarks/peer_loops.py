"""The training loops the population benchmarks' PyTorch peers share. This file never
loads caviar: the peer scripts that use it run in their own processes through
``benchmarks/fair.py``.

* :func:`batches`: caviar's shared batch order, one ``torch.randperm`` per epoch from
  ``torch.Generator().manual_seed(0)``;
* :func:`train_each`: the configurations one after another, each its own network and
  ``torch.optim.Adam`` at its own rate, cross-entropy over the shared batches, then its
  validation accuracy (evaluation mode, no gradients);
* :func:`train_stacked`: the torch.func "model ensembling" recipe's training loop: ONE
  ``torch.optim.Adam`` over the stacked parameters at ``lr = 1``, each member's step
  scaled by its own rate, ``θ ← θ_old + η_p (θ_adam − θ_old)`` (Adam's step is linear in
  ``lr``: this IS Adam at ``η_p``, to rounding);
* :func:`timed`: wall-clock and CPU seconds around a training;
* :func:`peer_main`: a peer script's command line (``PEER --data D.npz --epochs E
  --batch B [--threads T]``) and its last line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def batches(n: int, batch: int, epochs: int) -> Iterator[list[torch.Tensor]]:
    """Per epoch, the mini-batches' row indices: caviar's shared shuffled order."""
    gen = torch.Generator().manual_seed(0)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=gen)
        yield [perm[s : s + batch] for s in range(0, n, batch)]


def train_each(
    build: Callable[[int], nn.Module],
    rates: Sequence[float],
    train: tuple[torch.Tensor, torch.Tensor],
    val: tuple[torch.Tensor, torch.Tensor],
    epochs: int,
    batch: int,
) -> list[float]:
    """Member ``p`` = ``build(p)`` trained alone by ``torch.optim.Adam(lr=rates[p])`` on
    the cross-entropy of ``train = (x, y)`` over :func:`batches`, one member after
    another; each member's final accuracy on ``val = (x, y)``."""
    x, y = train
    final = []
    for p, lr in enumerate(rates):
        net = build(p)
        opt = torch.optim.Adam(net.parameters(), lr=float(lr))
        for epoch in batches(len(y), batch, epochs):
            for idx in epoch:
                loss = F.cross_entropy(net(x[idx]), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        net.eval()
        with torch.no_grad():
            final.append(float((net(val[0]).argmax(1) == val[1]).float().mean()))
    return final


def train_stacked(
    forward: Callable[[torch.Tensor], torch.Tensor],
    leaves: list[torch.Tensor],
    rates: Sequence[float],
    train: tuple[torch.Tensor, torch.Tensor],
    epochs: int,
    batch: int,
) -> None:
    """Every member at once: ``forward(x) -> (P, B, K)`` scores of the stacked parameters
    ``leaves`` (leading member axis), the sum over members of each one's mean
    cross-entropy, ONE ``torch.optim.Adam`` at ``lr = 1`` whose step is then scaled by
    each member's rate (``θ_old + η_p (θ_adam − θ_old)``), over :func:`batches`."""
    x, y = train
    P = len(rates)
    lr = torch.as_tensor(np.asarray(rates), dtype=torch.float32)
    scale = [lr.view(P, *[1] * (t.dim() - 1)) for t in leaves]
    opt = torch.optim.Adam(leaves, lr=1.0)
    for epoch in batches(len(y), batch, epochs):
        for idx in epoch:
            out = forward(x[idx])  # (P, B, K)
            loss = F.cross_entropy(out.transpose(1, 2), y[idx].expand(P, -1), reduction="none")
            opt.zero_grad()
            loss.mean(1).sum().backward()
            old = [t.detach().clone() for t in leaves]
            opt.step()
            with torch.no_grad():  # θ_old + η_p (θ_adam − θ_old): Adam at each member's lr
                for t, o, r in zip(leaves, old, scale, strict=True):
                    t.sub_(o).mul_(r).add_(o)


def timed(train: Callable[[], list[float]]) -> dict:
    """``train()``'s final accuracies (``final``) with its ``seconds`` (wall clock) and
    ``cpu_seconds`` (this process's CPU time over the same span)."""
    start, cpu = time.perf_counter(), time.process_time()
    final = train()
    return {
        "seconds": time.perf_counter() - start,
        "cpu_seconds": time.process_time() - cpu,
        "final": final,
    }


def peer_main(
    description: str,
    peers: dict[str, Callable[[dict, int, int], dict]],
    argv: Sequence[str] | None = None,
    warm_up: Callable[[], None] | None = None,
) -> None:
    """A peer script's ``main``: ``PEER --data D.npz --epochs E --batch B [--threads T]``
    runs ``peers[PEER](data, epochs, batch)`` at ``T`` torch threads (after ``warm_up()``,
    untimed, if given) on the arrays of ``D.npz``; prints one JSON line: the peer's name,
    its threads and its result."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("peer", choices=sorted(peers))
    p.add_argument("--data", required=True)
    p.add_argument("--epochs", type=int, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    with np.load(args.data) as f:
        data = {k: f[k] for k in f.files}
    if warm_up is not None:
        warm_up()
    result = peers[args.peer](data, args.epochs, args.batch)
    print(json.dumps({"peer": args.peer, "threads": torch.get_num_threads(), **result}))
