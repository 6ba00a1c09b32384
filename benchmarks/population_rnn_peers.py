"""The peers of ``benchmarks/population_rnn.py``, each run in its own fresh process (this
file never imports caviar): a GRU classifier's configurations trained

* ``loop``: one after another, torch's own ``nn.GRU`` + ``nn.Linear``, ``torch.optim.Adam``;
* ``naive_vmap``: all at once, the torch.func "model ensembling" recipe:
  ``stack_module_state`` + ``functional_call`` + ``vmap`` and ONE ``torch.optim.Adam``
  over the stacked parameters. ``nn.GRU`` has no batching rule (``aten::gru.input``), so
  the vmapped module is the same GRU written with ``F.linear`` (the input projection of
  every step in one product, ``unbind`` per step, one product ``W_hh h`` per step: the way
  that runs fastest under ``vmap``). ``torch.optim`` takes one learning rate per tensor and
  the stacked tensors hold every member, so Adam runs at ``lr = 1`` and each member's step
  is scaled by its own rate, ``θ ← θ_old + η_p (θ_adam − θ_old)`` (Adam's step is linear
  in ``lr``: this IS Adam at ``η_p``, to rounding).

    python benchmarks/population_rnn_peers.py loop --data D.npz --epochs 3 --threads 1

``D.npz`` (written by ``population_rnn.py``): the splits ``X_train (n, C, L)``,
``y_train``, ``X_val``, ``y_val``, ``n_classes``, ``hidden``, the learning rates ``lr`` and
every member's initial weights ``init:<name> (P, *shape)`` (caviar's built-in model's,
under seed ``p``). Every peer visits caviar's shared batch order (one ``torch.randperm``
per epoch from ``torch.Generator().manual_seed(0)``). The last line printed is one JSON
object: ``seconds`` (training only, wall clock), ``cpu_seconds`` (this process's CPU time
over the same span) and each member's final validation accuracy. The training loops and
the command line are :mod:`peer_loops`'s, shared with the other population peers.
"""

from __future__ import annotations

import copy

import torch
from peer_loops import peer_main, timed, train_each, train_stacked
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from torch.nn import functional as F


class HandGRU(nn.Module):
    """One GRU layer (batch first) written with ``F.linear``, torch's parameter names."""

    def __init__(self, c: int, h: int) -> None:
        super().__init__()
        self.weight_ih_l0 = nn.Parameter(torch.empty(3 * h, c))
        self.weight_hh_l0 = nn.Parameter(torch.empty(3 * h, h))
        self.bias_ih_l0 = nn.Parameter(torch.empty(3 * h))
        self.bias_hh_l0 = nn.Parameter(torch.empty(3 * h))

    def forward(self, x: torch.Tensor):  # noqa: ANN201
        H = self.weight_hh_l0.shape[1]
        h = x.new_zeros(x.shape[0], H)
        outs = []
        for gi in F.linear(x, self.weight_ih_l0, self.bias_ih_l0).unbind(1):
            gi_rz, gi_n = gi.split([2 * H, H], -1)
            gh_rz, gh_n = F.linear(h, self.weight_hh_l0, self.bias_hh_l0).split([2 * H, H], -1)
            r, z = torch.sigmoid(gi_rz + gh_rz).split(H, -1)
            n = torch.tanh(gi_n + r * gh_n)
            h = n + z * (h - n)
            outs.append(h)
        return torch.stack(outs, 1), h.unsqueeze(0)


class GRUClassifier(nn.Module):
    """``(B, C, L)`` -> GRU over time -> final state -> linear: caviar's built-in model with
    ``cell = "gru"``, ``hidden = []`` (the same parameter names)."""

    def __init__(self, rnn: nn.Module, hidden: int, k: int) -> None:
        super().__init__()
        self.rnn, self.head = rnn, nn.Sequential(nn.Linear(hidden, k))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h = self.rnn(x.transpose(1, 2))
        return self.head(h[-1])


def member_net(data, p: int, hand: bool) -> GRUClassifier:
    c, hidden, k = data["X_train"].shape[1], int(data["hidden"]), int(data["n_classes"])
    rnn = HandGRU(c, hidden) if hand else nn.GRU(c, hidden, batch_first=True)
    net = GRUClassifier(rnn, hidden, k)
    state = {n[5:]: torch.as_tensor(v[p]) for n, v in data.items() if n.startswith("init:")}
    net.load_state_dict(state)
    return net


def tensors(data):
    return [torch.as_tensor(data[k]) for k in ("X_train", "y_train", "X_val", "y_val")]


def warm_up(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    """One untimed Adam step of a throwaway copy: the process's first-call costs (the
    first ``torch.optim`` optimizer imports ``torch._dynamo``, seconds; kernel selection)
    are paid before the clock starts, as caviar's are in its process."""
    net = copy.deepcopy(net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    F.cross_entropy(net(x[:8]), y[:8]).backward()
    opt.step()


def loop(data, epochs: int, batch: int) -> dict:
    """Each member alone: ``nn.GRU`` classifier, ``torch.optim.Adam``, the shared batches."""
    x, y, xv, yv = tensors(data)
    warm_up(member_net(data, 0, hand=False), x, y)

    def build(p: int) -> GRUClassifier:
        return member_net(data, p, hand=False)

    return timed(lambda: train_each(build, data["lr"], (x, y), (xv, yv), epochs, batch))


def naive_vmap(data, epochs: int, batch: int) -> dict:
    """Every member at once: stack_module_state + functional_call + vmap, one Adam."""
    x, y, xv, yv = tensors(data)
    warm_up(member_net(data, 0, hand=True), x, y)
    return timed(lambda: _stacked(data, (x, y), (xv, yv), epochs, batch))


def _stacked(data, train, val, epochs: int, batch: int) -> list[float]:  # noqa: ANN001
    nets = [member_net(data, p, hand=True) for p in range(len(data["lr"]))]
    params, buffers = stack_module_state(nets)
    base = copy.deepcopy(nets[0]).to("meta")

    def member(p, b, xb):  # noqa: ANN001
        return functional_call(base, (p, b), (xb,))

    forward = vmap(member, in_dims=(0, 0, None))

    def scores(xb: torch.Tensor) -> torch.Tensor:
        return forward(params, buffers, xb)

    train_stacked(scores, list(params.values()), data["lr"], train, epochs, batch)
    with torch.no_grad():
        acc = (scores(val[0]).argmax(2) == val[1]).float().mean(1)
    return [float(a) for a in acc]


PEERS = {"loop": loop, "naive_vmap": naive_vmap}


def main(argv=None) -> None:  # noqa: ANN001
    peer_main(__doc__.splitlines()[0], PEERS, argv)


if __name__ == "__main__":
    main()
