"""Population layers: MLPs whose every parameter tensor has a leading member axis."""

from caviar.nn.activations import ACTIVATIONS, activate
from caviar.nn.dropout import DropoutPass
from caviar.nn.init import INITIALIZERS, init_weight
from caviar.nn.mlp import PopulationMLP
from caviar.nn.output_init import output_bias

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "DropoutPass",
    "PopulationMLP",
    "activate",
    "init_weight",
    "output_bias",
]
