"""The recurrent cells' equations, and ``RNNCell`` / ``GRUCell`` / ``LSTMCell`` built on them.

One step of each cell takes the input's part of the gates, ``gi = W_ih x_t + b_ih``
(computed for every time step in one product by the layers of
:mod:`caviar.nn.recurrent`), and the previous state; the hidden part ``W_hh h + b_hh`` is
one product per step. ``σ`` is the logistic sigmoid, ``⊙`` the elementwise product, and
the gate blocks are stacked in the rows of the weights in torch's order:

* **RNN** (one block): ``h' = act(gi + W_hh h + b_hh)``, ``act`` = tanh or ReLU;
* **GRU** (blocks r, z, n): ``r = σ(gi_r + gh_r)``, ``z = σ(gi_z + gh_z)``,
  ``n = tanh(gi_n + r ⊙ gh_n)``, ``h' = (1 − z) ⊙ n + z ⊙ h`` with ``gh = W_hh h + b_hh``;
* **LSTM** (blocks i, f, g, o): ``i, f, o = σ(·)``, ``g = tanh(·)`` of ``gi + W_hh h +
  b_hh``; ``c' = f ⊙ c + i ⊙ g``, ``h' = o ⊙ tanh(c')``, and with a projection
  (``proj_size > 0``) ``h' = W_hr (o ⊙ tanh(c'))``.

These are the equations of ``torch.nn.RNN``/``GRU``/``LSTM`` and their cells, written with
``torch.nn.functional.linear`` and elementwise operations only, so ``torch.func.vmap``
batches them over a population's members (one batched product per step for all members);
torch's fused recurrent kernels have no batching rule.

The cells take the constructor arguments of their ``torch.nn`` namesakes and have the same
parameter names and shapes (``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``), so a
``state_dict`` moves between the two unchanged; their initial weights are torch's
(uniform in ``±1/sqrt(hidden_size)``, drawn in the same order).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from caviar.errors import CaviarError

State = torch.Tensor | tuple[torch.Tensor, torch.Tensor]


def rnn_step(
    gi: torch.Tensor,
    h: torch.Tensor,
    w_hh: torch.Tensor,
    b_hh: torch.Tensor | None,
    nonlinearity: str = "tanh",
) -> torch.Tensor:
    """``h' = act(gi + W_hh h + b_hh)`` (``act``: tanh or relu)."""
    pre = gi + F.linear(h, w_hh, b_hh)
    return torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)


def gru_step(
    gi: torch.Tensor, h: torch.Tensor, w_hh: torch.Tensor, b_hn: torch.Tensor | None
) -> torch.Tensor:
    """``h' = (1 − z) ⊙ n + z ⊙ h`` (module docstring), computed as ``n + z ⊙ (h − n)``.

    ``gi`` already holds ``b_ih`` and the r and z blocks of ``b_hh``
    (:func:`gru_input_bias`: those blocks are only ever added to ``gi``), so a step adds
    just ``b_hn``, the n block, inside ``r ⊙ (W_hn h + b_hn)``. The gate blocks are
    taken with ``split`` (whose backward is one ``cat``), not slices (each slice's
    backward zero-fills a gradient of the whole width)."""
    H = h.shape[-1]
    gi_rz, gi_n = gi.split([2 * H, H], -1)
    gh_rz, gh_n = F.linear(h, w_hh).split([2 * H, H], -1)
    r, z = torch.sigmoid(gi_rz + gh_rz).split(H, -1)
    n = torch.tanh(torch.addcmul(gi_n, r, gh_n if b_hn is None else gh_n + b_hn))
    return n + z * (h - n)


def gru_input_bias(
    b_ih: torch.Tensor | None, b_hh: torch.Tensor | None
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """``(b_ih + [b_hr, b_hz, 0], b_hn)``: the bias of the input projection with the r and
    z blocks of ``b_hh`` folded in, and the n block left for :func:`gru_step`."""
    if b_hh is None:
        return b_ih, None
    H = b_hh.shape[-1] // 3
    b_rz, b_hn = b_hh.split([2 * H, H], -1)
    folded = torch.cat([b_rz, torch.zeros_like(b_hn)], -1)
    return (folded if b_ih is None else b_ih + folded), b_hn


def lstm_step(
    gi: torch.Tensor,
    h: torch.Tensor,
    c: torch.Tensor,
    w_hh: torch.Tensor,
    b_hh: torch.Tensor | None,
    w_hr: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(h', c')`` of the LSTM (module docstring); ``w_hr``: the projection, or None.
    The blocks are taken with ``split`` (see :func:`gru_step`)."""
    H = c.shape[-1]
    if_, g, o = (gi + F.linear(h, w_hh, b_hh)).split([2 * H, H, H], -1)
    i, f = torch.sigmoid(if_).split(H, -1)
    c = f * c + i * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return (h if w_hr is None else F.linear(h, w_hr)), c


def refuse_packed(x: object, layer: str) -> None:
    """A one-line error for a ``PackedSequence`` input."""
    if isinstance(x, nn.utils.rnn.PackedSequence):
        raise CaviarError(
            f"caviar.nn.{layer} does not take a PackedSequence: pad the sequences to one "
            "length (torch.nn.utils.rnn.pad_packed_sequence) and pass the padded tensor"
        )


class _CellBase(nn.Module):
    """What the three cells share: sizes, parameters, initialization and input checks."""

    gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise CaviarError(
                f"{type(self).__name__} needs input_size and hidden_size >= 1, "
                f"got {input_size} and {hidden_size}"
            )
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bias
        G = self.gates * self.hidden_size
        self.weight_ih = nn.Parameter(torch.empty(G, self.input_size, device=device, dtype=dtype))
        self.weight_hh = nn.Parameter(torch.empty(G, self.hidden_size, device=device, dtype=dtype))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(G, device=device, dtype=dtype))
            self.bias_hh = nn.Parameter(torch.empty(G, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter uniform in ``±1/sqrt(hidden_size)`` (torch's initialization)."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for w in self.parameters():
            nn.init.uniform_(w, -bound, bound)

    def _input(self, x: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """``x`` as ``(B, input_size)`` and whether it came batched."""
        refuse_packed(x, type(self).__name__)
        if x.dim() not in (1, 2) or x.shape[-1] != self.input_size:
            raise CaviarError(
                f"{type(self).__name__} expects inputs (B, {self.input_size}) or "
                f"({self.input_size},), got {tuple(x.shape)}"
            )
        return (x, True) if x.dim() == 2 else (x.unsqueeze(0), False)

    def _hidden(self, hx: torch.Tensor | None, x: torch.Tensor, batched: bool) -> torch.Tensor:
        if hx is None:
            return x.new_zeros(x.shape[0], self.hidden_size)
        return hx if batched else hx.unsqueeze(0)

    def _gi(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight_ih, self.bias_ih)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    """An Elman cell ``h' = act(W_ih x + b_ih + W_hh h + b_hh)`` (``torch.nn.RNNCell``).

    Parameters
    ----------
    input_size, hidden_size : int
        Features of the input and of the hidden state.
    bias : bool
        With the biases ``b_ih`` and ``b_hh``.
    nonlinearity : {"tanh", "relu"}
        ``act``.

    Examples
    --------
    >>> cell = RNNCell(3, 5)
    >>> cell(torch.zeros(2, 3)).shape
    torch.Size([2, 5])
    """

    gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise CaviarError(
                f"RNNCell nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}"
            )
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:  # noqa: A002
        """The next hidden state ``(B, hidden_size)`` (``(hidden_size,)`` unbatched)."""
        x, batched = self._input(input)
        h = rnn_step(
            self._gi(x),
            self._hidden(hx, x, batched),
            self.weight_hh,
            self.bias_hh,
            self.nonlinearity,
        )
        return h if batched else h.squeeze(0)


class GRUCell(_CellBase):
    """A gated recurrent unit cell (``torch.nn.GRUCell``; equations in the module docstring).

    Parameters
    ----------
    input_size, hidden_size : int
        Features of the input and of the hidden state.
    bias : bool
        With the biases ``b_ih`` and ``b_hh``.

    Examples
    --------
    >>> GRUCell(3, 5)(torch.zeros(2, 3), torch.zeros(2, 5)).shape
    torch.Size([2, 5])
    """

    gates = 3

    def forward(self, input: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:  # noqa: A002
        """The next hidden state ``(B, hidden_size)`` (``(hidden_size,)`` unbatched)."""
        x, batched = self._input(input)
        b_ih, b_hn = gru_input_bias(self.bias_ih, self.bias_hh)
        gi = F.linear(x, self.weight_ih, b_ih)
        h = gru_step(gi, self._hidden(hx, x, batched), self.weight_hh, b_hn)
        return h if batched else h.squeeze(0)


class LSTMCell(_CellBase):
    """A long short-term memory cell (``torch.nn.LSTMCell``; equations in the module
    docstring).

    Parameters
    ----------
    input_size, hidden_size : int
        Features of the input and of the hidden and cell states.
    bias : bool
        With the biases ``b_ih`` and ``b_hh``.

    Examples
    --------
    >>> h, c = LSTMCell(3, 5)(torch.zeros(2, 3))
    >>> h.shape, c.shape
    (torch.Size([2, 5]), torch.Size([2, 5]))
    """

    gates = 4

    def forward(
        self,
        input: torch.Tensor,  # noqa: A002
        hx: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The next ``(h, c)``, each ``(B, hidden_size)`` (``(hidden_size,)`` unbatched)."""
        x, batched = self._input(input)
        if hx is None:
            h = c = x.new_zeros(x.shape[0], self.hidden_size)
        else:
            h, c = (hx[0], hx[1]) if batched else (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        h, c = lstm_step(self._gi(x), h, c, self.weight_hh, self.bias_hh)
        return (h, c) if batched else (h.squeeze(0), c.squeeze(0))
