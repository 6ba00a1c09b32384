"""Population models: every parameter tensor has a leading member axis.

:class:`PopulationMLP` is the hand-written MLP (the fast path); :class:`PopulationModule`
stacks any ``torch.nn.Module``; :class:`Dropout`, :class:`BatchNorm1d`,
:class:`BatchNorm2d` and :class:`LeakyReLU` are drop-in layers whose rate, momentum,
slope, running statistics and random stream are each member's own; :class:`RNN`,
:class:`GRU`, :class:`LSTM` and their cells are torch's recurrent layers written so a
population runs them; :class:`MultiheadAttention` and the ``Transformer*`` layers are
torch's, written so a population batches them, with per-member attention, residual and
feed-forward dropout.
"""

from caviar.nn.activations import ACTIVATIONS, activate
from caviar.nn.attention import MultiheadAttention
from caviar.nn.dropout import DropoutPass
from caviar.nn.init import INITIALIZERS, init_weight
from caviar.nn.layers import BatchNorm1d, BatchNorm2d, Dropout, LeakyReLU
from caviar.nn.mlp import PopulationMLP
from caviar.nn.module import PopulationModule
from caviar.nn.output_init import output_bias
from caviar.nn.recurrent import GRU, LSTM, RNN, RNNBase
from caviar.nn.recurrent_cells import GRUCell, LSTMCell, RNNCell
from caviar.nn.recurrent_convert import converted_recurrent
from caviar.nn.transformer import (
    TransformerDecoderLayer,
    TransformerEncoder,
    TransformerEncoderLayer,
)

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "BatchNorm1d",
    "BatchNorm2d",
    "Dropout",
    "DropoutPass",
    "GRU",
    "GRUCell",
    "LSTM",
    "LSTMCell",
    "LeakyReLU",
    "MultiheadAttention",
    "PopulationMLP",
    "PopulationModule",
    "RNN",
    "RNNBase",
    "RNNCell",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
    "activate",
    "converted_recurrent",
    "init_weight",
    "output_bias",
]
