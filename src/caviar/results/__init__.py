"""Results as objects: one trial record, frames, the study, figures, a run's outputs.

* :class:`caviar.trial.Trial` is the record of every trial (and train member);
* :class:`ResultView` gives :class:`caviar.api.TrainRun` and ``caviar.tuning.TuneResult``
  ``trials_dataframe()``, ``best_params``, ``history``, ``study``, ``plot_*`` and
  ``report()`` (:mod:`caviar.results.view`);
* :mod:`caviar.results.frames`: the records as pandas frames;
* :mod:`caviar.results.outputs`: writing a run directory (the CLI and ``out=`` share it).
"""

from caviar.results.view import ResultView
from caviar.trial import Timings, Trial

__all__ = ["ResultView", "Timings", "Trial"]
