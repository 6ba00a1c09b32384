"""``torch.nn`` recurrent layers and cells -> caviar's (:func:`convert_layers` uses this).

``nn.RNN``/``GRU``/``LSTM`` become :mod:`caviar.nn.recurrent`'s layers and
``nn.RNNCell``/``GRUCell``/``LSTMCell`` :mod:`caviar.nn.recurrent_cells`'s cells, built with
the same constructor arguments (dtype and device included) and holding the same weights
(``load_state_dict`` of the torch module's ``state_dict``); a fixed inter-layer ``dropout``
keeps its rate. Importing this module registers the conversions in
:data:`caviar.nn.layers.CONVERTERS` (``caviar.nn`` imports it).
"""

from __future__ import annotations

from torch import nn

from caviar.nn.layers import CONVERTERS
from caviar.nn.recurrent import GRU, LSTM, RNN
from caviar.nn.recurrent_cells import GRUCell, LSTMCell, RNNCell


def _layer_args(m: nn.Module) -> dict:
    args = {"bias": m.bias, "device": m.weight_ih_l0.device, "dtype": m.weight_ih_l0.dtype}
    args.update(
        num_layers=m.num_layers,
        batch_first=m.batch_first,
        dropout=m.dropout,
        bidirectional=m.bidirectional,
    )
    return args


def _cell_args(m: nn.Module) -> dict:
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
    kind = type(m)
    if kind is nn.RNN:
        new = RNN(m.input_size, m.hidden_size, nonlinearity=m.nonlinearity, **_layer_args(m))
    elif kind is nn.GRU:
        new = GRU(m.input_size, m.hidden_size, **_layer_args(m))
    elif kind is nn.LSTM:
        new = LSTM(m.input_size, m.hidden_size, proj_size=m.proj_size, **_layer_args(m))
    elif kind is nn.RNNCell:
        new = RNNCell(m.input_size, m.hidden_size, nonlinearity=m.nonlinearity, **_cell_args(m))
    else:
        new = {nn.GRUCell: GRUCell, nn.LSTMCell: LSTMCell}[kind](
            m.input_size, m.hidden_size, **_cell_args(m)
        )
    new.load_state_dict(m.state_dict())
    return new.train(m.training)


CONVERTERS.update(
    dict.fromkeys(
        (nn.RNN, nn.GRU, nn.LSTM, nn.RNNCell, nn.GRUCell, nn.LSTMCell), converted_recurrent
    )
)
