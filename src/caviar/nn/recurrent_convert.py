"""``torch.nn`` recurrent layers and cells -> caviar's (:func:`convert_layers` uses this).

``nn.RNN``/``GRU``/``LSTM`` become :mod:`caviar.nn.recurrent`'s layers and
``nn.RNNCell``/``GRUCell``/``LSTMCell`` :mod:`caviar.nn.recurrent_cells`'s cells, built with
the same constructor arguments (dtype and device included) and holding the same weights
(``load_state_dict`` of the torch module's ``state_dict``); a fixed inter-layer ``dropout``
keeps its rate. Importing this module registers the conversions in
:data:`caviar.nn.layers.CONVERTERS` (``caviar.nn`` imports it).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from caviar.nn.layers import CONVERTERS
from caviar.nn.recurrent import GRU, LSTM, RNN
from caviar.nn.recurrent_cells import GRUCell, LSTMCell, RNNCell


def _layer_args(m: nn.RNNBase) -> dict[str, Any]:
    args: dict[str, Any] = {
        "bias": m.bias,
        "device": m.weight_ih_l0.device,
        "dtype": m.weight_ih_l0.dtype,
    }
    args.update(
        num_layers=m.num_layers,
        batch_first=m.batch_first,
        dropout=m.dropout,
        bidirectional=m.bidirectional,
    )
    return args


def _cell_args(m: nn.RNNCellBase) -> dict[str, Any]:
    return {"bias": m.bias, "device": m.weight_ih.device, "dtype": m.weight_ih.dtype}


def converted_recurrent(m: nn.Module) -> nn.Module:
    """The caviar layer for a ``torch.nn`` recurrent layer or cell, holding its weights.

    Parameters
    ----------
    m : nn.RNN, nn.GRU, nn.LSTM, nn.RNNCell, nn.GRUCell or nn.LSTMCell
        The torch module (not changed).

    Returns
    -------
    nn.Module
        :class:`caviar.nn.GRU` (etc.) with ``m``'s arguments, weights and training mode.

    Examples
    --------
    >>> gru = converted_recurrent(nn.GRU(3, 4, num_layers=2))
    >>> type(gru).__name__, gru.num_layers
    ('GRU', 2)
    """
    new: nn.Module
    if type(m) is nn.RNN:
        new = RNN(m.input_size, m.hidden_size, nonlinearity=m.nonlinearity, **_layer_args(m))
    elif type(m) is nn.GRU:
        new = GRU(m.input_size, m.hidden_size, **_layer_args(m))
    elif type(m) is nn.LSTM:
        new = LSTM(m.input_size, m.hidden_size, proj_size=m.proj_size, **_layer_args(m))
    elif type(m) is nn.RNNCell:
        new = RNNCell(m.input_size, m.hidden_size, nonlinearity=m.nonlinearity, **_cell_args(m))
    elif type(m) is nn.GRUCell:
        new = GRUCell(m.input_size, m.hidden_size, **_cell_args(m))
    elif type(m) is nn.LSTMCell:
        new = LSTMCell(m.input_size, m.hidden_size, **_cell_args(m))
    else:  # not one of the six classes registered below
        raise KeyError(type(m))
    new.load_state_dict(m.state_dict())
    return new.train(m.training)


CONVERTERS.update(
    dict.fromkeys(
        (nn.RNN, nn.GRU, nn.LSTM, nn.RNNCell, nn.GRUCell, nn.LSTMCell), converted_recurrent
    )
)
