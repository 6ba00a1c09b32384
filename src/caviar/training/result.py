"""What training a population returns: per-member histories, statuses and scores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from caviar.config import RunConfig
from caviar.trial import Timings, Trial

if TYPE_CHECKING:
    from caviar.nn.mlp import PopulationMLP
    from caviar.nn.module import PopulationModule
    from caviar.training.population import PopulationKnobs

# val_default_score: accuracy or R² (the ``auto`` score), kept beside a named metric's score
HISTORY_KEYS = ("train_loss", "train_score", "val_loss", "val_score", "val_default_score", "lr")


def display_epoch(best_epoch: int | None) -> int | None:
    """The one convention every leaderboard (train, tune, report) shows: the 1-based
    epoch of the best weights (``best_epoch + 1``, as ``history.csv`` numbers epochs),
    or None (an empty cell) for a member that never had a best epoch (diverged at once)."""
    if best_epoch is None or int(best_epoch) < 0:
        return None
    return int(best_epoch) + 1


@dataclass
class MemberResult:
    """One trained member: its config, status, per-epoch history and best scores.

    ``status`` is ``complete`` (ran every epoch), ``early_stopped`` (patience ran
    out; best weights restored), ``diverged`` (its loss became NaN/inf; frozen),
    ``pruned`` (stopped by a callback) or, for full-batch methods, ``converged``
    (stopped by its stopping rule: loss decrease < tau, small gradient, or no
    Armijo step).
    Scores are higher-is-better (accuracy or R^2), measured at ``best_epoch``, the
    0-based index into ``history`` (-1 if no epoch was ever best); the number of
    epochs that reached the best weights, ``i*`` in :ref:`bg-early-stopping`, is ``best_epoch + 1``.
    :meth:`summary` (what users see) reports epochs 1-based, like ``history.csv``
    (:func:`display_epoch`).
    """

    index: int  # position in the run's list of configurations
    position: int  # row of this member in its population's tensors
    config: RunConfig
    status: str
    best_epoch: int
    epochs_run: int
    history: dict[str, list[float]]
    val_loss: float
    val_score: float
    train_loss: float
    train_score: float
    population: int = 0  # which population of the run trained it
    refit_epochs: int | None = None  # epochs of the refit on train+validation, if any
    val_default_score: float = float("nan")  # best accuracy or R² over its epochs
    # initial-loss / symmetry checks and the gradient monitor; "warnings": list of text
    diagnostics: dict = field(default_factory=dict)
    # knob changes made during training (panda mode, caviar.training.live)
    changes: list = field(default_factory=list)
    # cross-validation (train.cv): each fold's validation score; val_score is their mean
    cv_scores: list[float] | None = None

    def summary(self) -> dict:
        return {
            "member": self.index,
            "status": self.status,
            "best_epoch": display_epoch(self.best_epoch),
            "epochs_run": self.epochs_run,
            "val_loss": self.val_loss,
            "val_score": self.val_score,
            "train_loss": self.train_loss,
            "train_score": self.train_score,
            **({} if self.refit_epochs is None else {"refit_epochs": self.refit_epochs}),
            **({} if not self.cv_scores else _cv_summary(self.cv_scores)),
        }


def flat_config(config: dict, prefix: str = "") -> dict:
    """A nested config dump as dotted keys (``{"optimizer.lr": 0.01, ...}``)."""
    out: dict = {}
    for k, v in config.items():
        if isinstance(v, dict) and v:
            out.update(flat_config(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def varied_params(configs: list[RunConfig]) -> list[dict]:
    """Each configuration's values of the dotted fields that differ between them (the
    ``params`` of a train run's trials and the columns of its leaderboard)."""
    import json

    flats = [flat_config(c.model_dump(mode="json")) for c in configs]
    keys = list(dict.fromkeys(k for f in flats for k in f))
    varied = [k for k in keys if len({json.dumps(f.get(k), sort_keys=True) for f in flats}) > 1]
    return [{k: f.get(k) for k in varied} for f in flats]


def member_trial(
    m: MemberResult, params: dict, started: float | None = None, ended: float | None = None
) -> Trial:
    """A trained member as the run's :class:`~caviar.trial.Trial` (``params``: the
    fields the run varies; ``started``/``ended``: its population's ``time.time()``)."""
    attrs: dict = {"population": m.population, "position": m.position}
    if m.refit_epochs is not None:
        attrs["refit_epochs"] = m.refit_epochs
    if m.cv_scores:
        attrs.update(cv_scores=list(m.cv_scores), cv_std=float(np.std(m.cv_scores)))
    if m.changes:
        attrs["changes"] = list(m.changes)
    if m.diagnostics.get("warnings"):
        attrs["warnings"] = list(m.diagnostics["warnings"])
    return Trial(
        number=m.index,
        params=dict(params),
        value=float(m.val_score),
        state=m.status,
        best_epoch=m.best_epoch if m.best_epoch is not None and m.best_epoch >= 0 else None,
        epochs_run=int(m.epochs_run),
        val_loss=float(m.val_loss),
        train_score=float(m.train_score),
        train_loss=float(m.train_loss),
        history={k: list(v) for k, v in m.history.items()},
        user_attrs=attrs,
        timings=Timings(started, ended),
    )


def _cv_summary(scores: list[float]) -> dict:
    """``train.cv``: the folds' standard deviation and each fold's score (``fold_1``...)."""
    out: dict = {"cv_std": float(np.std(scores))}
    out.update({f"fold_{f}": float(s) for f, s in enumerate(scores, start=1)})
    return out


@dataclass
class PopulationResult:
    """A trained population: the model (best weights restored) and its members."""

    model: PopulationMLP | PopulationModule
    loss_name: str
    members: list[MemberResult]
    knobs: PopulationKnobs
    history: dict[str, np.ndarray] = field(default_factory=dict)  # key -> (epochs, P)
    # (epoch, flat (P, N), stats (P, S)) taken every ``ensemble.snapshot_every`` epochs
    snapshots: list = field(default_factory=list)


def rank_members(members: list[MemberResult]) -> list[MemberResult]:
    """Best first: highest validation score, then lowest validation loss; NaN last."""

    def key(m: MemberResult) -> tuple[float, float]:
        score = m.val_score if np.isfinite(m.val_score) else -np.inf
        loss = m.val_loss if np.isfinite(m.val_loss) else np.inf
        return (-score, loss)

    return sorted(members, key=key)
