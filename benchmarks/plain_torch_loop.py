"""A plain PyTorch training loop, written from scratch as a PyTorch user would, to check
the population benchmark's sequential-loop peer (``population_peers.py torch``) is no
slower than the obvious code: ``population.py`` reports the ratio of the two
(``torch_loop_vs_plain_loop``, target within 15%).

For each configuration (``lr``, ``l2`` in the ``.npz`` that ``population.py`` writes):
an MLP 64-128-128-10 (``nn.Linear`` + ``nn.ReLU``, torch's default initialisation),
``torch.optim.Adam(lr)``, minibatches of 128 in a fresh random order every epoch, loss
cross-entropy plus ``l2`` times the squared norm of the three weight matrices; after the
last epoch the validation accuracy. Never imports caviar. Last line: one JSON object.

    python benchmarks/plain_torch_loop.py --data D.npz --epochs 50 --threads 2
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from torch import nn


def make_mlp(n_in: int, n_out: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(n_in, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, n_out)
    )


def train_one(X, y, X_val, y_val, n_out: int, lr: float, l2: float, epochs: int) -> float:
    model = make_mlp(X.shape[1], n_out)
    weights = [model[0].weight, model[2].weight, model[4].weight]
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    for _epoch in range(epochs):
        order = torch.randperm(len(X))
        for start in range(0, len(X), 128):
            rows = order[start : start + 128]
            optimizer.zero_grad()
            loss = loss_fn(model(X[rows]), y[rows])
            loss = loss + l2 * sum(w.pow(2).sum() for w in weights)
            loss.backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        return (model(X_val).argmax(dim=1) == y_val).float().mean().item()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, required=True)
    parser.add_argument("--sample", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    d = np.load(args.data)
    X, y = torch.tensor(d["X_train"], dtype=torch.float32), torch.tensor(d["y_train"]).long()
    X_val, y_val = torch.tensor(d["X_val"], dtype=torch.float32), torch.tensor(d["y_val"]).long()
    lrs, l2s = d["lr"][: args.sample], d["l2"][: args.sample]
    torch.manual_seed(0)
    t0 = time.perf_counter()
    accuracies = [
        train_one(X, y, X_val, y_val, int(d["n_classes"]), float(lr), float(l2), args.epochs)
        for lr, l2 in zip(lrs, l2s, strict=True)
    ]
    seconds = time.perf_counter() - t0
    print(json.dumps({"seconds": seconds, "final": accuracies, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
