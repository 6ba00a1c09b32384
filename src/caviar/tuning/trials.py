"""Trial records: what the study stores for each trial, and how trials are ranked.

A finished member becomes :func:`trial_record`, a :class:`caviar.trial.Trial` (its
params, structure, scores, curves, PBT history and population, enough for
``caviar.tuning.rebuild`` to train it again); a configuration that failed
validation or a population lost by its executor becomes :func:`failed_record`.
Trials rank by validation score, ties by lower validation loss, then by index
(:func:`rank_key`); non-finite values rank last. :func:`trim_kept` bounds the
weights held in memory to the best ``n`` trials per structure.
"""

from __future__ import annotations

import time
from typing import Any

from caviar.training.gradient_monitor import thinned
from caviar.training.population import structure_key
from caviar.trial import Trial
from caviar.trial import rank_key as _trial_rank_key
from caviar.tuning.cross_validation import cv_fields
from caviar.tuning.executor import MemberRecord
from caviar.tuning.pbt import final_params
from caviar.tuning.plan import TunePlan


def pbt_record(plan: TunePlan, seed: int) -> dict[str, Any] | None:
    """What replaying a PBT population needs besides its members: settings and seed."""
    p = plan.settings.pbt
    if p is None:
        return None
    return {"seed": seed, "interval": p.interval, "fraction": p.fraction, "perturb": p.perturb}


def population_seed(plan: TunePlan, indices: list[int]) -> int:
    """The seed of a population's callbacks (PBT's generator): from its first trial."""
    return plan.settings.seed * 100_003 + indices[0]


def trial_record(
    index: int,
    round_: int,
    params: dict,
    rec: MemberRecord,
    population: list[int],
    pbt: dict[str, Any] | None = None,
) -> Trial:
    """The stored trial of a finished member (``population``: the trial indices of its
    population, in row order; ``pbt``: the PBT settings and seed of that population).
    Its ``params`` are the hyperparameters the member ended with: with PBT the sampled
    ones are kept as ``pbt_initial_params`` and the exploit/explore steps as
    ``pbt_history`` (``from``: the trial index copied). ``population`` and ``pbt`` let
    a later process train the population again (``caviar.tuning.rebuild``)."""
    m = rec.member
    cfg = m.config
    extra = {"pbt_initial_params": params} if rec.pbt_log else {}
    # the gradient monitor's per-layer norms at <= 100 epochs (the report's figure)
    grads = thinned((m.diagnostics.get("gradients") or {}).get("per_epoch") or [])
    gradients = {"gradients": grads} if grads else {}
    if pbt is not None:
        extra["pbt"] = pbt
    return Trial.from_record(
        {
            "index": index,
            "round": round_,
            "params": final_params(params, rec.pbt_log),
            "status": m.status,
            "seed": cfg.train.seed,
            "structure": {
                "sizes": rec.sizes,
                "activation": rec.activation,
                "loss": rec.loss_name,
                "optimizer": cfg.optimizer.name,
                "batch_size": cfg.train.batch_size,
            },
            "best_epoch": m.best_epoch,
            "epochs_run": m.epochs_run,
            "val_score": m.val_score,
            "val_default_score": m.val_default_score,
            "val_loss": m.val_loss,
            "train_score": m.train_score,
            "train_loss": m.train_loss,
            "history": {
                k: m.history[k] for k in ("train_loss", "train_score", "val_loss", "val_score")
            },
            "final_hypers": rec.final_hypers,
            "pbt_history": [{**h, "from": population[h["from"]]} for h in rec.pbt_log],
            "stopped_by": rec.stopped_by,
            "warnings": m.diagnostics.get("warnings", []),  # init checks, gradient monitor
            "population": list(population),
            "started": rec.started,  # stored as the trial's start and end, not as attributes
            "ended": rec.ended,
            **cv_fields(m),  # search.cv: folds, per-fold scores, their std (user attributes)
            **extra,
            **gradients,
        }
    )


def failed_record(index: int, round_: int, params: dict, message: str) -> Trial:
    """The stored trial of a configuration that could not run (``message``: why)."""
    return Trial.from_record(
        {
            "index": index,
            "round": round_,
            "params": params,
            "status": "failed",
            "error": message,
            "val_score": float("nan"),
            "history": {},
            "started": time.time(),
            "ended": time.time(),
        }
    )


def rank_key(t: Trial | dict[str, Any]) -> tuple[float, float, int]:
    """Sort key, best first: higher validation score, then lower loss, then index
    (:func:`caviar.trial.rank_key`; a record dict is read as its :class:`Trial`)."""
    return _trial_rank_key(Trial.from_record(t))


def stored_value(t) -> float:
    """An Optuna trial's validation score (its value; in a multi-objective study its
    ``val_score`` attribute), NaN when it has none."""
    from caviar.tuning.storage_records import study_score

    return study_score(t)


def trim_kept(kept: dict[int, MemberRecord], n: int) -> None:
    """Keep the weights of the best trials per structure only (bounded memory)."""
    by_structure: dict[str, list[int]] = {}
    for i, r in kept.items():
        by_structure.setdefault(structure_key(r.member.config), []).append(i)
    for ids in by_structure.values():
        ids.sort(key=lambda i: rank_key(kept[i].row))  # type: ignore[attr-defined]
        for i in ids[n:]:
            del kept[i]
