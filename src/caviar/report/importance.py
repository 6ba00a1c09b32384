"""Hyperparameter importance users can trust (Optuna's fANOVA, several seeds).

Computed over every scored trial: complete, early-stopped and pruned ones, each at
its stored value (the validation score of its best epoch, the weights it ends
with), not only the few trials a halving search runs to the end. fANOVA's random
forest depends on its seed, so it is fitted with :data:`SEEDS` seeds; the bars are
the mean importance and the whiskers the spread (one standard deviation) over the
seeds, ranked by the mean. The number of trials is shown, and a warning when fewer
than :data:`FEW` trials vary the parameters (importance from so few is rough).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import plotly.graph_objects as go

from caviar.report.style import LAYOUT, short

MIN_SCORED = 3  # fewer scored trials than this: no importance (fANOVA would say 1.0)
FEW = 20
SEEDS = (0, 1, 2, 3, 4)
TREES = 32  # per seed (Optuna default 64): five forests of 32 cost 2.5 of 64


def scored_study(study):
    """An in-memory study holding ``study``'s scored trials (complete or pruned, with a
    finite value) as complete trials: what fANOVA is fitted on."""
    import math

    import optuna
    from optuna.trial import TrialState

    from caviar.tuning.storage_records import study_score

    # several objectives: importance for the first (caviar's score, higher is better)
    multi = len(study.directions) > 1
    out = optuna.create_study(direction="maximize" if multi else study.direction)
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        value = study_score(t)
        if not math.isfinite(value):
            continue
        out.add_trial(
            optuna.trial.create_trial(value=value, params=t.params, distributions=t.distributions)
        )
    return out


def importances(study) -> tuple[dict[str, tuple[float, float]], int]:
    """``{param: (mean, std)}`` over :data:`SEEDS`, most important first, and the number
    of scored trials (Optuna's errors propagate)."""
    import optuna
    from optuna.importance import FanovaImportanceEvaluator

    scored = scored_study(study)
    n = len(scored.trials)
    if n < MIN_SCORED:
        return {}, n
    runs = [
        optuna.importance.get_param_importances(
            scored, evaluator=FanovaImportanceEvaluator(n_trees=TREES, seed=s), normalize=True
        )
        for s in SEEDS
    ]
    names = sorted({p for r in runs for p in r})
    stats = {
        p: (
            float(np.mean([r.get(p, 0.0) for r in runs])),
            float(np.std([r.get(p, 0.0) for r in runs])),
        )
        for p in names
    }
    ranked = dict(sorted(stats.items(), key=lambda kv: -kv[1][0]))
    return ranked, n


class ImportanceInfo(NamedTuple):
    """What the importance figure draws: ``importances`` ``{param: (mean, std)}`` most
    important first (empty when there is no figure), the number of scored trials and a
    ``note`` (a warning, or why there is no figure; empty otherwise)."""

    importances: dict[str, tuple[float, float]]
    n_scored: int
    note: str

    @property
    def order(self) -> list[str]:
        """The parameters, most important first (what the contours pair)."""
        return list(self.importances)


def importance_info(study) -> ImportanceInfo:
    """The importances of ``study``'s parameters (None study: the note says why none)."""
    if study is None:
        return ImportanceInfo({}, 0, "importance needs an Optuna study (caviar tune runs)")
    try:
        imp, n = importances(study)
    except Exception as e:  # noqa: BLE001 - any reason optuna gives, shown as a note
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        return ImportanceInfo({}, 0, f"hyperparameter importance could not be computed: {first}")
    if n < MIN_SCORED:
        return ImportanceInfo({}, n, (
            f"hyperparameter importance could not be computed: it needs at least "
            f"{MIN_SCORED} scored trials (this study has {n})"
        ))  # fmt: skip
    if not imp:
        return ImportanceInfo(
            {}, n, "hyperparameter importance could not be computed: no varied parameter"
        )
    note = ""
    if n < FEW:
        note = (
            f"only {n} scored trials vary the hyperparameters (fewer than {FEW}): "
            "read the ranking as rough; the whiskers show how much it moves with fANOVA's seed"
        )
    return ImportanceInfo(imp, n, note)


def importance_figure(info: ImportanceInfo) -> go.Figure | None:
    """Horizontal bars (mean) with whiskers (spread over seeds); None without importances."""
    imp, n = info.importances, info.n_scored
    if not imp:
        return None
    names = list(imp)[::-1]
    fig = go.Figure(
        go.Bar(
            x=[imp[p][0] for p in names],
            y=[short(p) for p in names],
            error_x={"type": "data", "array": [imp[p][1] for p in names], "color": "#444"},
            orientation="h",
            marker_color="#1f77b4",
            hovertemplate="%{y}: %{x:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        **LAYOUT,
        title=(
            f"Hyperparameter importance (Optuna fANOVA over {n} scored trials, "
            f"mean and spread of {len(SEEDS)} seeds)"
        ),
        height=180 + 40 * len(names),
        xaxis_title="importance (fraction of explained variance)",
        yaxis_title="hyperparameter",
    )
    return fig


def importance(run, info: ImportanceInfo | None = None) -> tuple[go.Figure | None, str]:
    """The importance figure of a run's study, and its note (``info``: already computed)."""
    info = info if info is not None else importance_info(run.study)
    return importance_figure(info), info.note
