"""The search's outputs moved to :mod:`caviar.results.outputs` (above both ``tuning`` and
``report``); the names stay importable from here."""

from caviar.results.outputs import leaderboard
from caviar.results.outputs import write_tune_outputs as write_outputs

__all__ = ["leaderboard", "write_outputs"]
