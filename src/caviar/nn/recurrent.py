"""Recurrent layers ``RNN``, ``GRU`` and ``LSTM`` that run as populations.

Drop-in replacements of ``torch.nn.RNN``/``GRU``/``LSTM`` (``convert_layers`` swaps them
in): the same constructor arguments (``num_layers``, ``bias``, ``batch_first``,
``dropout``, ``bidirectional``, RNN ``nonlinearity``, LSTM ``proj_size``), the same
parameter names and shapes (``weight_ih_l{k}[_reverse]``, ``weight_hh_l{k}…``,
``bias_ih_l{k}…``, ``bias_hh_l{k}…``, ``weight_hr_l{k}…``), the same initial weights for
the same seed, the same inputs, initial states and outputs, and the same maths (the cell
equations of :mod:`caviar.nn.recurrent_cells`). For layer ``k`` and each direction:

    gi_t = W_ih x_t + b_ih           for every t in ONE product (L·B rows)
    state_t = cell(gi_t, state_{t−1})  one product W_hh h_{t−1} per step

the reverse direction running ``t = L … 1``; a bidirectional layer's output is the two
directions' outputs side by side, and the next layer's input is that output after
inter-layer dropout (training only, not after the last layer). Written with
``torch.nn.functional.linear`` and elementwise operations, so ``torch.func.vmap`` batches
the whole layer over a population's members: per step one batched product for every
member's ``W_hh h``. The precomputed gates are split per step with ``unbind`` (whose
backward is one ``stack``; indexing ``gi[t]`` would zero-fill the whole gradient at every
step of the backward pass).

Inter-layer dropout is a :class:`caviar.nn.Dropout` per gap: in a population each member
draws its own masks from its own random stream, and ``dropout=None`` takes each member's
``model.dropout``. ``PackedSequence`` inputs are refused (pad them).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Generic, TypeVar, cast

import torch
from torch import nn
from torch.nn import functional as F

from caviar.errors import CaviarError
from caviar.nn.layers import Dropout
from caviar.nn.recurrent_cells import (
    State,
    gru_input_bias,
    gru_step,
    lstm_step,
    refuse_packed,
    rnn_step,
)

# an LSTM's state (h, c)
HiddenAndCell = tuple[torch.Tensor, torch.Tensor]
# a layer's recurrent state: h alone (RNN, GRU) or (h, c) (LSTM)
S = TypeVar("S", bound=State)


class RNNBase(nn.Module, Generic[S]):
    """What RNN, GRU and LSTM share: validation, gate widths, parameter names, init, input
    and state checks, and the loop over layers, directions and time. A subclass states its
    cell: ``gates`` (blocks of ``hidden_size`` rows per weight), :meth:`_step` and, for a
    state that is not just ``h``, :meth:`_zero_state` / :meth:`_split_state` (and the
    other state hooks ``_output``, ``_stack_states``, ``_unbatch`` and ``_squeeze``).
    The type parameter is the state's type: ``h`` (a tensor) or ``(h, c)``."""

    gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float | None = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        if int(input_size) < 1 or int(hidden_size) < 1 or int(num_layers) < 1:
            raise CaviarError(
                f"{name} needs input_size, hidden_size and num_layers >= 1, "
                f"got {input_size}, {hidden_size}, {num_layers}"
            )
        if dropout is not None and not 0.0 <= float(dropout) < 1.0:
            raise CaviarError(f"{name} dropout must be in [0, 1) or None, got {dropout}")
        if int(proj_size) and self.gates != 4:
            raise CaviarError(f"{name} has no proj_size (LSTM only), got {proj_size}")
        if not 0 <= int(proj_size) < int(hidden_size):
            raise CaviarError(f"{name} proj_size must be in [0, hidden_size), got {proj_size}")
        if dropout and int(num_layers) == 1:
            warnings.warn(
                f"{name}: dropout acts between layers; with num_layers=1 it does nothing",
                stacklevel=2,
            )
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.num_layers, self.bias, self.batch_first = int(num_layers), bool(bias), batch_first
        self.dropout = None if dropout is None else float(dropout)
        self.bidirectional, self.proj_size = bool(bidirectional), int(proj_size)
        self.layer_dropout = nn.ModuleList(Dropout(dropout) for _ in range(self.num_layers - 1))
        kw = {"device": device, "dtype": dtype}
        for layer in range(self.num_layers):
            for suffix in self._suffixes:
                self._add_layer(f"l{layer}{suffix}", layer, kw)
        self.reset_parameters()

    # -- structure -----------------------------------------------------------------
    @property
    def _suffixes(self) -> tuple[str, ...]:
        return ("", "_reverse") if self.bidirectional else ("",)

    @property
    def _out_size(self) -> int:
        """Features of each direction's output: ``proj_size`` or ``hidden_size``."""
        return self.proj_size or self.hidden_size

    def _add_layer(self, key: str, layer: int, kw: dict) -> None:
        """The parameters of one layer and direction, in torch's order and shapes."""
        G = self.gates * self.hidden_size
        width = self.input_size if layer == 0 else self._out_size * len(self._suffixes)
        self.register_parameter(f"weight_ih_{key}", nn.Parameter(torch.empty(G, width, **kw)))
        self.register_parameter(
            f"weight_hh_{key}", nn.Parameter(torch.empty(G, self._out_size, **kw))
        )
        if self.bias:
            self.register_parameter(f"bias_ih_{key}", nn.Parameter(torch.empty(G, **kw)))
            self.register_parameter(f"bias_hh_{key}", nn.Parameter(torch.empty(G, **kw)))
        if self.proj_size:
            self.register_parameter(
                f"weight_hr_{key}",
                nn.Parameter(torch.empty(self.proj_size, self.hidden_size, **kw)),
            )

    def reset_parameters(self) -> None:
        """Every parameter uniform in ``±1/sqrt(hidden_size)``, in registration order
        (torch's initialization: the same weights for the same seed)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for w in self.parameters():
            nn.init.uniform_(w, -bound, bound)

    def flatten_parameters(self) -> None:
        """Nothing to do (torch packs its weights for cuDNN here); kept so modules that
        call it run unchanged."""

    def _weights(self, key: str) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        """``W_ih`` and ``[b_ih, W_hh, b_hh, W_hr]`` of one layer and direction (None for
        a weight the layer does not have)."""
        names = ("bias_ih", "weight_hh", "bias_hh", "weight_hr")
        return getattr(self, f"weight_ih_{key}"), [getattr(self, f"{n}_{key}", None) for n in names]

    # -- the cell (overridden) -----------------------------------------------------
    def _step(self, gi: torch.Tensor, state: S, w: tuple) -> S:  # noqa: ARG002
        raise NotImplementedError

    # -- the state hooks: defaults for a state that is just h ------------------------
    def _as_state(self, h: torch.Tensor) -> S:
        """``h`` as the layer's state: the default hooks below serve a layer whose state is
        just ``h`` (``S`` is ``torch.Tensor`` there); a layer whose state is ``(h, c)``
        overrides every one of them."""
        return cast(S, h)

    def _as_h(self, state: S) -> torch.Tensor:
        """``state`` as the one tensor ``h`` the default hooks take."""
        if isinstance(state, torch.Tensor):
            return state
        name = type(self).__name__
        raise NotImplementedError(f"{name}: a state that is not just h needs its own hooks")

    def _zero_state(self, like: torch.Tensor, batch: int) -> S:
        return self._as_state(like.new_zeros(batch, self._out_size))

    def _split_state(self, hx: S, k: int) -> S:
        return self._as_state(self._as_h(hx)[k])

    def _output(self, state: S) -> torch.Tensor:
        return self._as_h(state)

    def _stack_states(self, finals: list[S]) -> S:
        return self._as_state(torch.stack([self._as_h(s) for s in finals]))

    def _unbatch(self, hx: S, batched: bool) -> S:
        h = self._as_h(hx)
        return self._as_state(h if batched else h.unsqueeze(1))

    def _squeeze(self, h: S) -> S:
        return self._as_state(self._as_h(h).squeeze(1))

    # -- forward -------------------------------------------------------------------
    def _time_major(self, x: torch.Tensor) -> tuple[torch.Tensor, bool]:
        """``x`` as ``(L, B, input_size)`` and whether it came batched."""
        name = type(self).__name__
        refuse_packed(x, name)
        if x.dim() not in (2, 3) or x.shape[-1] != self.input_size:
            raise CaviarError(
                f"{name} expects inputs (L, B, {self.input_size}) "
                f"({'batch_first: (B, L, …)' if self.batch_first else 'time first'}) or "
                f"(L, {self.input_size}), got {tuple(x.shape)}"
            )
        if x.dim() == 2:
            return x.unsqueeze(1), False
        return (x.transpose(0, 1) if self.batch_first else x), True

    def _direction(
        self, x: torch.Tensor, state: S, key: str, reverse: bool
    ) -> tuple[torch.Tensor, S]:
        """One layer and direction over the whole sequence: ``(L, B, out)`` and the final
        state."""
        w_ih, (b_ih, *w) = self._weights(key)
        b_ih, w = self._fold_biases(b_ih, w)
        steps = F.linear(x, w_ih, b_ih).unbind(0)  # every step's gi in one product
        outs = []
        for gi in reversed(steps) if reverse else steps:
            state = self._step(gi, state, tuple(w))
            outs.append(self._output(state))
        if reverse:
            outs.reverse()
        return torch.stack(outs), state

    def _fold_biases(self, b_ih: torch.Tensor | None, w: list) -> tuple:
        """The input projection's bias and the step's weights ``[w_hh, b_hh, w_hr]``: as
        they are (a GRU folds part of ``b_hh`` into ``b_ih``)."""
        return b_ih, w

    def forward(self, input: torch.Tensor, hx: S | None = None):  # noqa: A002, ANN201
        """``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``) as torch's layer returns them:
        output ``(L, B, D·out)`` (``(B, L, …)`` with ``batch_first``), states
        ``(num_layers·D, B, …)``; unbatched inputs ``(L, input_size)`` drop the B axes."""
        x, batched = self._time_major(input)
        if hx is not None:
            hx = self._unbatch(hx, batched)
        finals: list[S] = []
        for layer in range(self.num_layers):
            if layer:
                x = self.layer_dropout[layer - 1](x)
            outs = []
            for d, suffix in enumerate(self._suffixes):
                k = layer * len(self._suffixes) + d
                state = self._zero_state(x, x.shape[1]) if hx is None else self._split_state(hx, k)
                out, state = self._direction(x, state, f"l{layer}{suffix}", reverse=d == 1)
                outs.append(out)
                finals.append(state)
            x = outs[0] if len(outs) == 1 else torch.cat(outs, -1)
        h_n = self._stack_states(finals)
        if not batched:
            return x.squeeze(1), self._squeeze(h_n)
        return (x.transpose(0, 1) if self.batch_first else x), h_n

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        for name, default in (
            ("num_layers", 1),
            ("bias", True),
            ("batch_first", False),
            ("dropout", 0.0),
            ("bidirectional", False),
            ("proj_size", 0),
        ):
            value = getattr(self, name)
            if value != default:
                s += f", {name}={'per member' if value is None else value}"
        return s


class RNN(RNNBase[torch.Tensor]):
    """Elman RNN layers ``h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh)`` as
    ``torch.nn.RNN`` (module docstring), runnable as a population.

    Parameters
    ----------
    input_size, hidden_size : int
        Features of the input and of the hidden state.
    num_layers : int
        Stacked layers.
    nonlinearity : {"tanh", "relu"}
        ``act``.
    bias, batch_first, bidirectional : bool
        As in ``torch.nn.RNN``.
    dropout : float or None
        Inter-layer dropout rate; ``None``: each member's ``model.dropout``.

    Examples
    --------
    >>> out, h = RNN(3, 5, num_layers=2, batch_first=True)(torch.zeros(4, 7, 3))
    >>> out.shape, h.shape
    (torch.Size([4, 7, 5]), torch.Size([2, 4, 5]))
    """

    gates = 1

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        *args: Any,
        **kwargs: Any,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise CaviarError(f"RNN nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, *args, **kwargs)
        self.nonlinearity = nonlinearity

    def _step(self, gi: torch.Tensor, state: torch.Tensor, w: tuple) -> torch.Tensor:
        return rnn_step(gi, state, w[0], w[1], self.nonlinearity)


class GRU(RNNBase[torch.Tensor]):
    """Gated recurrent unit layers as ``torch.nn.GRU`` (equations:
    :mod:`caviar.nn.recurrent_cells`), runnable as a population.

    Parameters
    ----------
    input_size, hidden_size, num_layers, bias, batch_first, bidirectional
        As in ``torch.nn.GRU``.
    dropout : float or None
        Inter-layer dropout rate; ``None``: each member's ``model.dropout``.

    Examples
    --------
    >>> out, h = GRU(3, 5, bidirectional=True)(torch.zeros(7, 4, 3))
    >>> out.shape, h.shape
    (torch.Size([7, 4, 10]), torch.Size([2, 4, 5]))
    """

    gates = 3

    def _step(self, gi: torch.Tensor, state: torch.Tensor, w: tuple) -> torch.Tensor:
        return gru_step(gi, state, w[0], w[1])

    def _fold_biases(self, b_ih: torch.Tensor | None, w: list) -> tuple:
        """``b_hh``'s r and z blocks join ``b_ih`` (added once for every step); the step
        keeps ``b_hn`` (:func:`~caviar.nn.recurrent_cells.gru_input_bias`)."""
        b_ih, b_hn = gru_input_bias(b_ih, w[1])
        return b_ih, [w[0], b_hn, w[2]]


class LSTM(RNNBase[HiddenAndCell]):
    """Long short-term memory layers as ``torch.nn.LSTM`` (equations:
    :mod:`caviar.nn.recurrent_cells`), runnable as a population.

    Parameters
    ----------
    input_size, hidden_size, num_layers, bias, batch_first, bidirectional
        As in ``torch.nn.LSTM``.
    dropout : float or None
        Inter-layer dropout rate; ``None``: each member's ``model.dropout``.
    proj_size : int
        With ``proj_size > 0`` the hidden state is projected, ``h = W_hr (o ⊙ tanh(c))``.

    Examples
    --------
    >>> out, (h, c) = LSTM(3, 5, proj_size=2)(torch.zeros(7, 4, 3))
    >>> out.shape, h.shape, c.shape
    (torch.Size([7, 4, 2]), torch.Size([1, 4, 2]), torch.Size([1, 4, 5]))
    """

    gates = 4

    def _step(self, gi: torch.Tensor, state: HiddenAndCell, w: tuple) -> HiddenAndCell:
        return lstm_step(gi, state[0], state[1], w[0], w[1], w[2])

    def _zero_state(self, like: torch.Tensor, batch: int) -> HiddenAndCell:
        return like.new_zeros(batch, self._out_size), like.new_zeros(batch, self.hidden_size)

    def _split_state(self, hx: HiddenAndCell, k: int) -> HiddenAndCell:
        return hx[0][k], hx[1][k]

    def _output(self, state: HiddenAndCell) -> torch.Tensor:
        return state[0]

    def _stack_states(self, finals: list[HiddenAndCell]) -> HiddenAndCell:
        return torch.stack([s[0] for s in finals]), torch.stack([s[1] for s in finals])

    def _unbatch(self, hx: HiddenAndCell, batched: bool) -> HiddenAndCell:
        return (hx[0], hx[1]) if batched else (hx[0].unsqueeze(1), hx[1].unsqueeze(1))

    def _squeeze(self, h: HiddenAndCell) -> HiddenAndCell:
        return h[0].squeeze(1), h[1].squeeze(1)
