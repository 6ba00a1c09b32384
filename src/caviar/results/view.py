"""What a train or tune result offers in a notebook: frames, the best trial, the Optuna
study, figures and the report, all built on its :class:`caviar.trial.Trial` records.

:class:`ResultView` is the base of :class:`caviar.api.TrainRun` and
``caviar.tuning.TuneResult``. A subclass holds ``trials`` (ranked best first) and
``kind`` (``"train"`` or ``"tune"``); the figures come from :mod:`caviar.plots`, which
also takes a run directory.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from caviar.results.frames import history_frame, shown_params, trials_frame
from caviar.trial import Trial

if TYPE_CHECKING:
    import optuna
    import pandas as pd
    import plotly.graph_objects as go


class ResultView:
    """Notebook views of a result (see the module docstring)."""

    trials: list[Trial]
    kind: str = "train"

    # -- the parts a subclass may refine ---------------------------------------------------
    def _categorical(self) -> set[str]:
        """Parameters stored as JSON text (a search's choices)."""
        return set()

    @property
    def best_trial(self) -> Trial:
        """The best trial (highest validation score; ties: lower loss, then number)."""
        return self.trials[0]

    # -- frames ----------------------------------------------------------------------------
    def trials_dataframe(self) -> pd.DataFrame:
        """One row per trial (a train run: per member), ordered by ``number``: ``number``,
        ``value`` (validation score), ``state``, the other scores at the best epoch,
        ``best_epoch`` (1-based), ``epochs_run``, ``seconds``, then ``params_<name>``
        (as Optuna's ``Study.trials_dataframe()``).

        Returns
        -------
        pandas.DataFrame
        """
        return trials_frame(self.trials, self._categorical())

    def members_dataframe(self) -> pd.DataFrame:
        """The same rows as :meth:`trials_dataframe` (a train run's trials are its
        members)."""
        return self.trials_dataframe()

    @property
    def history(self) -> pd.DataFrame:
        """Per-epoch curves, one row per (trial, epoch): ``trial``, ``epoch`` (1-based),
        ``train_loss``, ``train_score``, ``val_loss``, ``val_score``, ..."""
        return history_frame(self.trials, "trial" if self.kind == "tune" else "member")

    @property
    def best_params(self) -> dict[str, Any]:
        """The best trial's hyperparameters (choices as the values they were)."""
        return shown_params(self.best_trial, self._categorical())

    @property
    def best_value(self) -> float:
        """The best trial's validation score."""
        return self.best_trial.value

    @property
    def study(self) -> optuna.Study:
        """The trials as an ``optuna.Study`` (a search: loaded from its storage; a train
        run: built in memory from its members)."""
        from caviar.results.study import study_of

        return study_of(self)

    # -- figures and the report ----------------------------------------------------------------
    def plot_optimization_history(self) -> go.Figure:
        """Each trial's validation score and the best so far (:mod:`caviar.plots`)."""
        from caviar import plots

        return plots.plot_optimization_history(self)

    def plot_learning_curves(self) -> go.Figure:
        """Training and validation loss per epoch, one line per trial."""
        from caviar import plots

        return plots.plot_learning_curves(self)

    def plot_score_curves(self) -> go.Figure:
        """Training and validation score per epoch, one line per trial."""
        from caviar import plots

        return plots.plot_score_curves(self)

    def plot_params(self) -> go.Figure:
        """Each hyperparameter against the validation score, one panel each."""
        from caviar import plots

        return plots.plot_params(self)

    def plot_param_importances(self) -> go.Figure:
        """fANOVA importance of each hyperparameter (mean and spread over seeds)."""
        from caviar import plots

        return plots.plot_param_importances(self)

    def plot_parallel_coordinate(self) -> go.Figure:
        """Every scored trial as a line across its hyperparameters and score."""
        from caviar import plots

        return plots.plot_parallel_coordinate(self)

    def plot_contour(self) -> go.Figure:
        """The score over the pairs of the most important hyperparameters."""
        from caviar import plots

        return plots.plot_contour(self)

    def plot_rounds(self) -> go.Figure:
        """Scores and sampled values per search round (halving and coarse-to-fine)."""
        from caviar import plots

        return plots.plot_rounds(self)

    def plot_halving(self) -> go.Figure:
        """Successive halving's rungs and each trial's score against its epochs run."""
        from caviar import plots

        return plots.plot_halving(self)

    def plot_pareto_front(self) -> go.Figure:
        """Several objectives: the first against each other one, the Pareto front
        highlighted and the final model starred."""
        from caviar import plots

        return plots.plot_pareto_front(self)

    def report(self, path: str | Path | None = None) -> Path:
        """Write the HTML report (the one ``caviar report`` writes) to ``path``
        (default: ``report.html`` in the run directory, else in the working directory);
        returns the path."""
        from caviar import plots
        from caviar.report.html import write_report

        if path is None:
            where = getattr(self, "run_dir", None)
            path = Path(where) / "report.html" if where else Path("report.html")
        return write_report(plots.run_data(self), path)

    # -- display -------------------------------------------------------------------------------
    def _headline(self) -> list[tuple[str, str]]:
        states: dict[str, int] = {}
        for t in self.trials:
            states[t.state] = states.get(t.state, 0) + 1
        best = self.best_trial if self.trials else None
        test = getattr(self, "test_score", math.nan)
        return [
            ("trials" if self.kind == "tune" else "members", str(len(self.trials))),
            ("states", ", ".join(f"{n} {s}" for s, n in sorted(states.items()))),
            ("best", f"#{best.number}, val {best.value:.4f}" if best else "-"),
            ("test score", f"{test:.4f}" if isinstance(test, float) else str(test)),
            ("best params", _short(self.best_params) if best else "-"),
        ]

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={v}" for k, v in self._headline())
        return f"{type(self).__name__}({parts})"

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in self._headline()
        )
        return f"<b>{html.escape(type(self).__name__)}</b><table>{rows}</table>"


def _short(params: dict[str, Any], limit: int = 160) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "(none varied)"
    return text if len(text) <= limit else text[: limit - 3] + "..."


__all__ = ["ResultView"]
