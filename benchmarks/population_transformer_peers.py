"""The peers of ``benchmarks/population_transformer.py``, each run in its own process
(this file never imports caviar): the configurations trained one after another by a
plain PyTorch loop over ``torch.nn.TransformerEncoderLayer`` (``torch``), and the
torch.func "model ensembling" approach (``vmap``: ``stack_module_state`` +
``functional_call`` + ``vmap`` with ``randomness="different"`` for dropout, one Adam over
the stacked parameters, each member's step scaled by its own rate: Adam's step is linear
in ``lr``, so ``θ_old + η_p (θ_adam(lr=1) − θ_old)`` is Adam at ``η_p``).

    python benchmarks/population_transformer_peers.py torch --data D.npz --epochs 8 --threads 1

``D.npz`` (written by ``population_transformer.py``) holds the splits (``X_train``,
``y_train``, ``X_val``, ``y_val``), ``shape`` (positions, features), the model sizes, the
configurations' ``lr`` and each member's initial weights (``init{p}.{parameter}``, the
ones Caviar's member ``p`` starts from). Last line: one JSON object (``seconds``,
``cpu_seconds`` of this process, ``final`` validation accuracies). The training loops and
the command line are :mod:`peer_loops`'s, shared with the other population peers.
"""

from __future__ import annotations

import copy

import torch
from peer_loops import peer_main, timed, train_each, train_stacked
from torch import nn
from torch.func import functional_call, stack_module_state, vmap


class Classifier(nn.Module):
    """Sequences ``(L, F)`` -> linear embedding ``d`` -> one encoder layer (``heads``,
    feed-forward ``ff``, torch's default dropout 0.1, batch first) -> mean over the
    positions -> linear ``K``."""

    def __init__(self, features: int, d: int, heads: int, ff: int, k: int, dropout: float):
        super().__init__()
        self.embed = nn.Linear(features, d)
        self.encoder = nn.TransformerEncoderLayer(d, heads, ff, dropout, batch_first=True)
        self.out = nn.Linear(d, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.encoder(self.embed(x)).mean(dim=1))


def build(data, p: int) -> Classifier:
    """Member ``p``'s network with its initial weights from the data file."""
    sizes = [int(v) for v in data["sizes"]]  # features, d, heads, ff, k
    net = Classifier(*sizes, float(data["dropout"]))
    state = {n: torch.as_tensor(data[f"init{p}.{n}"]) for n in net.state_dict()}
    net.load_state_dict(state)
    return net


def tensors(data):
    shape = (-1, *[int(s) for s in data["shape"]])
    x = torch.as_tensor(data["X_train"], dtype=torch.float32).view(shape)
    xv = torch.as_tensor(data["X_val"], dtype=torch.float32).view(shape)
    return x, torch.as_tensor(data["y_train"]), xv, torch.as_tensor(data["y_val"])


def run_torch(data, epochs: int, batch: int) -> dict:
    """One plain PyTorch loop per configuration, one after another."""

    def train() -> list[float]:
        x, y, xv, yv = tensors(data)
        return train_each(lambda p: build(data, p), data["lr"], (x, y), (xv, yv), epochs, batch)

    return timed(train)


def run_vmap(data, epochs: int, batch: int) -> dict:
    """The torch.func ensembling tutorial's population, one Adam for all members."""
    return timed(lambda: _vmap_population(data, epochs, batch))


def _vmap_population(data, epochs: int, batch: int) -> list[float]:
    x, y, xv, yv = tensors(data)
    nets = [build(data, p) for p in range(len(data["lr"]))]
    params, buffers = stack_module_state(nets)
    base = copy.deepcopy(nets[0]).to("meta")

    def member(p, b, xb):  # noqa: ANN001, ANN202
        return functional_call(base, (p, b), (xb,))

    train = vmap(member, in_dims=(0, 0, None), randomness="different")

    def forward(xb: torch.Tensor) -> torch.Tensor:
        return train(params, buffers, xb)

    train_stacked(forward, list(params.values()), data["lr"], (x, y), epochs, batch)
    base.eval()
    with torch.no_grad():
        out = vmap(member, in_dims=(0, 0, None))(params, buffers, xv)
        acc = (out.argmax(2) == yv).float().mean(1)
    return [float(a) for a in acc]


PEERS = {"torch": run_torch, "vmap": run_vmap}


def warm_up() -> None:
    """One Adam step and one vmap call on a throwaway layer, untimed: torch imports parts
    of itself (torch._dynamo for the optimizers, functorch) on first use, seconds that a
    process of Caviar's has already paid before its clock starts."""
    net = nn.TransformerEncoderLayer(8, 2, 8, batch_first=True)
    opt = torch.optim.Adam(net.parameters())
    net(torch.zeros(2, 3, 8)).sum().backward()
    opt.step()
    params, buffers = stack_module_state([net, copy.deepcopy(net)])
    vmap(lambda p, b, x: functional_call(net, (p, b), (x,)), in_dims=(0, 0, None),
         randomness="different")(params, buffers, torch.zeros(2, 3, 8))  # fmt: skip


def main(argv=None) -> None:  # noqa: ANN001
    peer_main(__doc__.splitlines()[0], PEERS, argv, warm_up)


if __name__ == "__main__":
    main()
