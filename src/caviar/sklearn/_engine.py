"""The engine pieces the scikit-learn API builds on, imported in one place."""

from caviar.training.population import optimizer_hypers, resolve_loss_name, structure_key
from caviar.training.result import PopulationResult
from caviar.training.trainer import PopulationTrainer, train_population

__all__ = [
    "PopulationResult",
    "PopulationTrainer",
    "optimizer_hypers",
    "resolve_loss_name",
    "structure_key",
    "train_population",
]
