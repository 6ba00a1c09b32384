"""The built-in recurrent sequence model (``model.kind = "rnn"``), a module factory.

For one example of shape ``(C, L)`` (``C`` channels, ``L`` time steps; a flat ``(F,)``
input is read as a one-channel signal of ``F`` steps):

    x_1 … x_L  (x_t: the C channels at step t)
    recurrent layers: model.cell (gru | lstm | rnn) of model.hidden_size units,
                      model.num_layers deep, [model.bidirectional], dropout between layers
    readout:   "last": the final hidden state of the top layer (both directions)
               "mean": the top layer's outputs averaged over time
    for h in model.hidden:   linear(h) -> [batch norm] -> activation -> dropout
    linear(K)

A recurrent layer reads the sequence in order, so it learns what depends on the order of
events, which an MLP reading every step as an unrelated feature must learn position by
position. The recurrent layers are :mod:`caviar.nn.recurrent`'s (torch's equations and
initialization, uniform in ``±1/sqrt(hidden_size)``); their inter-layer dropout and the
head's dropout are each member's ``model.dropout``. The dense head is the CNN's
(:func:`caviar.nn.cnn.build_cnn`): the same activation, batch norm, ``model.init`` and
``model.output_init = "prior"`` (output weights 0, bias at the baseline).
"""

from __future__ import annotations

from typing import Any, cast

import torch
from torch import nn

from caviar.errors import CaviarError
from caviar.nn.cnn import dense_head, init_network
from caviar.nn.recurrent import GRU, LSTM, RNN

CELLS = {"gru": GRU, "lstm": LSTM, "rnn": RNN}


class SequenceNet(nn.Module):
    """Recurrent layers over ``(B, C, L)`` inputs, a readout and a dense head.

    Parameters
    ----------
    rnn : caviar.nn.RNNBase
        Recurrent layers with ``batch_first=True``.
    head : nn.Module
        Maps the readout ``(B, D·hidden_size)`` to the outputs ``(B, K)``.
    readout : {"last", "mean"}
        The top layer's final state, or its outputs' mean over time.
    """

    def __init__(self, rnn: nn.Module, head: nn.Module, readout: str = "last") -> None:
        super().__init__()
        if readout not in ("last", "mean"):
            raise CaviarError(f"model.readout must be 'last' or 'mean', got {readout!r}")
        self.rnn, self.head, self.readout = rnn, head, readout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs ``(B, K)`` for inputs ``(B, C, L)`` (or ``(B, L)``: one channel)."""
        seq = x.unsqueeze(-1) if x.dim() == 2 else x.transpose(1, 2)  # (B, L, C)
        out, state = self.rnn(seq)
        if self.readout == "mean":
            return self.head(out.mean(dim=1))
        h = state[0] if isinstance(state, tuple) else state  # (layers·D, B, H)
        D = 2 if self.rnn.bidirectional else 1
        return self.head(torch.cat(list(h[-D:]), dim=-1))


def build_rnn(cfg: dict[str, Any]) -> nn.Module:
    """The network described above for ``cfg`` (a ``[model]`` section plus ``input_shape``
    and ``n_outputs``).

    Examples
    --------
    >>> net = build_rnn({"input_shape": [2, 30], "n_outputs": 3, "cell": "lstm",
    ...                  "hidden_size": 16, "hidden": [8], "activation": "relu"})
    >>> net(torch.zeros(5, 2, 30)).shape
    torch.Size([5, 3])
    """
    shape = [int(s) for s in cfg["input_shape"]]
    if len(shape) not in (1, 2):
        raise CaviarError(
            f"the rnn model needs examples of shape (C, L) (channels, time steps), got "
            f"{tuple(shape)}: set data.shape"
        )
    channels = 1 if len(shape) == 1 else shape[0]
    cell = cfg.get("cell", "gru")
    if cell not in CELLS:
        raise CaviarError(f"model.cell must be one of {', '.join(CELLS)}, got {cell!r}")
    hidden_size, layers = int(cfg.get("hidden_size", 64)), int(cfg.get("num_layers", 1))
    bidirectional = bool(cfg.get("bidirectional", False))
    rnn = CELLS[cell](
        channels,
        hidden_size,
        num_layers=layers,
        batch_first=True,
        dropout=None if layers > 1 else 0.0,
        bidirectional=bidirectional,
    )
    head = dense_head(hidden_size * (2 if bidirectional else 1), cfg)
    net = SequenceNet(rnn, head, cfg.get("readout", "last"))
    init_network(net, cast(nn.Linear, head[-1]), cfg)  # dense_head ends with a Linear
    return net
