"""The end of a search: the best trial, the final model and the :class:`TuneResult`.

The best trial by validation score (ties: lower validation loss,
:func:`caviar.tuning.trials.rank_key`) among those that finished with a finite
score gives the final model: it and up to ``ensemble_top_k - 1`` runners-up of
its structure, as one ensemble (``caviar.tuning.refit``), refit on train+val when
``refit = "train_val"``. Chosen trials whose weights are not in memory (finished
by an earlier process before ``--resume``, or by another process) are trained
again exactly (:func:`records_for`, ``caviar.tuning.rebuild``). The test split is
evaluated once, for the final model; the naive baseline and the
over/underfitting verdict (``caviar.diagnose``) come with it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from caviar.config import validate_config
from caviar.diagnose.baseline import naive_baseline
from caviar.diagnose.trees import trees_report
from caviar.diagnose.verdict import verdict
from caviar.errors import CaviarError
from caviar.model import TrainedModel
from caviar.results.view import ResultView
from caviar.training.scoring import perfect_score, score_name
from caviar.trial import SCORED_STATES, STATES, Trial
from caviar.tuning import refit as refit_mod
from caviar.tuning.cross_validation import cv_refit_records
from caviar.tuning.executor import MemberRecord
from caviar.tuning.metric_choice import default_choice
from caviar.tuning.objectives import directions_of
from caviar.tuning.pareto import pareto_trials, select_trial
from caviar.tuning.plan import TunePlan
from caviar.tuning.rebuild import rebuild
from caviar.tuning.storage import decode_params


@dataclass(repr=False)
class TuneResult(ResultView):
    """The outcome of a search: every finished trial (:class:`caviar.trial.Trial`,
    ranked best first), the best one, the final model and its scores.
    :class:`caviar.results.ResultView` adds ``trials_dataframe()``, ``best_params``,
    ``history``, ``study``, ``plot_*`` and ``report()``; :meth:`summary` is what
    ``summary.json`` holds."""

    plan: TunePlan = field(repr=False)
    trials: list[Trial] = field(repr=False)  # every finished trial, ranked best first
    best: Trial = field(repr=False)
    model: TrainedModel
    val_score: float
    test_score: float
    counts: dict[str, int]
    seconds: float
    storage_seconds: float  # wall time the search waited for the study
    storage_busy_seconds: float  # time spent in study I/O, including the background thread
    baseline: dict[str, Any]
    verdict: dict[str, Any]
    trace: list[tuple[float, float]] = field(default_factory=list)  # (s, best trial val)
    epoch_trace: list[tuple[float, float]] = field(default_factory=list)  # (s, best epoch val)
    storage_url: str = ""
    task: str = "classification"
    rebuilt: dict[int, str] = field(default_factory=dict)  # trial -> how it was retrained
    outputs: dict[str, Any] = field(default_factory=dict)  # the summary written, if any
    metric: str = "auto"  # train.metric / search.metric: what the trials are ranked by
    run_dir: str = ""  # the run directory (study.db, outputs)
    objectives: list[str] = field(default_factory=list)  # search.objectives (several)
    directions: list[str] = field(default_factory=list)  # their directions

    kind = "tune"

    def pareto_front(self) -> list[Trial]:
        """The trials on the Pareto front of ``objectives`` (none dominates another;
        ``caviar.tuning.pareto``), best first objective first; with one objective the
        best trial. Each trial's ``objectives`` attribute holds its values; its model is
        :meth:`model_of`."""
        if not self.objectives:
            return [self.best]
        return pareto_trials(self.trials, self.objectives, self.directions)

    @property
    def best_trials(self) -> list[Trial]:
        """The Pareto front (:meth:`pareto_front`), as Optuna's ``study.best_trials``."""
        return self.pareto_front()

    def model_of(self, trial: Trial | int, data=None) -> TrainedModel:
        """The model of ``trial`` (a trial or its number), e.g. another member of the
        Pareto front: the final model's weights for the chosen trial, else trained again
        from its stored record (``caviar.tuning.rebuild``, exactly the trial).
        ``data``: the search's splits (default: loaded from the config's data section)."""
        from caviar.tuning.trial_models import trial_model

        return trial_model(self, trial, data)

    @property
    def best_trial(self) -> Trial:
        """The best trial (the final model's; ``best``)."""
        return self.best

    @property
    def best_model(self) -> TrainedModel:
        """The final model (``model``)."""
        return self.model

    def _categorical(self) -> set[str]:
        return {d.path for d in self.plan.space.dimensions if d.categorical}

    def summary(self) -> dict[str, Any]:
        return {
            "best_params": decode_params(self.plan.space, self.best["params"]),
            # PBT changed the best trial: the values it was sampled with (best_params, the
            # final model's config and a train_val refit use the values it ended with)
            "best_initial_params": self.best.get("pbt_initial_params"),
            "best_index": self.best["index"],
            "val_score": self.val_score,
            "test_score": self.test_score,
            "score_name": score_name(self.metric, self.task),
            "metric_choice": default_choice(self.trials, self.best, self.metric, self.task),
            "counts": self.counts,
            "n_trials": len(self.trials),
            "seconds": self.seconds,
            "storage_seconds": self.storage_seconds,
            "storage_busy_seconds": self.storage_busy_seconds,
            "baseline": self.baseline,
            "diagnosis": self.verdict,
            "refit": self.model.metrics.get("refit", self.plan.settings.refit),
            # search.cv: val_score is the mean over the folds; their scores and std
            **{k: self.best[k] for k in ("cv", "cv_scores", "cv_std") if k in self.best},
            "ensemble_size": self.model.n_members,
            "storage": self.storage_url,
            "rebuilt": {str(i): h for i, h in self.rebuilt.items()},
            # caviar set --trial (panda mode): each change, by trial (caviar.tuning.live_tune)
            "changes": [
                {"trial": t["index"], **c} for t in self.trials for c in t.get("changes") or []
            ],
            **self._objectives_summary(),
        }

    def _objectives_summary(self) -> dict[str, Any]:
        """Several objectives: their names and directions, the select rule, the chosen
        trial's values and the Pareto front (trial, values, params)."""
        if not self.objectives:
            return {}
        space = self.plan.space
        return {
            "objectives": self.objectives,
            "directions": self.directions,
            "select": self.plan.settings.select,
            "best_objectives": self.best.get("objectives"),
            "pareto_front": [
                {
                    "trial": t.number,
                    "objectives": t.get("objectives"),
                    "params": decode_params(space, dict(t.params)),
                }
                for t in self.pareto_front()
            ],
        }


@dataclass
class FinalModel:
    """What :func:`final_model` found: the best trial, the final model and its scores."""

    best: Trial
    model: TrainedModel
    val_score: float
    test_score: float
    baseline: dict[str, Any]
    verdict: dict[str, Any]
    counts: dict[str, int]
    rebuilt: dict[int, str]


def final_model(
    trials: list[Trial], kept: dict[int, MemberRecord], plan: TunePlan, data
) -> FinalModel:
    """The final model of a search from its ranked ``trials`` (every finished trial of
    the study) and the records ``kept`` in memory (see the module docstring)."""
    s = plan.settings
    usable = [
        t
        for t in trials
        if t["status"] in SCORED_STATES
        and t.get("val_score") is not None
        and math.isfinite(t["val_score"])
    ]
    if not usable:
        raise CaviarError("no trial finished with a finite validation score")
    best = usable[0]
    if s.objectives:  # several objectives: search.select's trial of the Pareto front
        names = list(s.objectives)
        best = select_trial(trials, names, directions_of(s), s.select) or best
    keep_n = max(s.ensemble_top_k, 1)
    chosen = [t for t in usable if t.get("structure") == best.get("structure")][:keep_n]
    records, rebuilt = records_for(chosen, kept, plan, plan.space, data, trials)
    cv = validate_config(plan.base).train.cv
    if cv is not None:  # search.cv: refit for the folds' mean best epoch count
        records = cv_refit_records(records, chosen)
    if s.refit == "train_val" or cv is not None:
        records = refit_mod.refit_train_val(records, data)
    val_score = float(best["val_score"])
    refit = "train_val" if cv is not None else s.refit
    metrics = {"val_score": val_score, "best_index": best["index"], "refit": refit}
    if cv is not None:
        metrics.update(cv=cv, cv_std=best.get("cv_std"), cv_scores=best.get("cv_scores"))
    if rebuilt:
        metrics["rebuilt"] = {str(i): h for i, h in rebuilt.items()}
    model = refit_mod.model_from_records(records, data, metrics)
    metric = validate_config(plan.base).train.metric
    test = refit_mod.test_score(model, data, metric)
    model.metrics["test_score"] = test
    base = naive_baseline(data, metric)
    perfect = perfect_score(metric, data.task)
    diag = verdict(float(best["train_score"]), val_score, base["val_score"], perfect=perfect)
    diag["trees"] = trees_report(data, val_score, metric=metric)  # bg-baselines: try another class
    counts = dict.fromkeys(STATES, 0)
    for t in trials:
        counts[t["status"]] = counts.get(t["status"], 0) + 1
    return FinalModel(best, model, val_score, test, base, diag, counts, rebuilt)


def records_for(
    chosen, kept, plan, space, data, trials=()
) -> tuple[list[MemberRecord], dict[int, str]]:
    """Weights of the chosen trials: from memory, or trained again from their stored
    records (``caviar.tuning.rebuild``: alone for ``epochs_run`` epochs, or the whole PBT
    population replayed); ``trials``: every finished trial of the study. Returns the
    records and how each trial not in memory was rebuilt."""
    missing = [t for t in chosen if t["index"] not in kept]
    how: dict[int, str] = {}
    if missing:
        by_index = {int(t["index"]): t for t in [*trials, *chosen]}
        recs, how = rebuild(missing, by_index, plan.base, space, data)
        for t, r in zip(missing, recs, strict=True):
            kept[t["index"]] = r
    return [kept[t["index"]] for t in chosen], how
