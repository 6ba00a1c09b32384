"""Training populations: the vectorized trainer, grouping by structure, results.

(Named ``training`` rather than ``train`` so that ``caviar.train`` stays the
Python API function.)
"""

from caviar.training.result import MemberResult, PopulationResult, rank_members
from caviar.training.trainer import PopulationTrainer, train_population

__all__ = [
    "MemberResult",
    "PopulationResult",
    "PopulationTrainer",
    "rank_members",
    "train_population",
]
