"""Per-member results of a finished population trainer: statuses, best epochs, histories."""

from __future__ import annotations

import numpy as np
import torch

from caviar.training.member_diagnostics import member_diagnostics
from caviar.training.result import HISTORY_KEYS, MemberResult, PopulationResult


def collect_results(trainer) -> PopulationResult:
    """Per-member results (status, best epoch, histories) of a finished trainer."""
    hist = {k: torch.stack(v).cpu().double().numpy() for k, v in trainer.history.items()}
    best_epoch = trainer.stopper.best_epoch.cpu().numpy()
    if not trainer.has_val:  # no validation: the final weights are the result
        best_epoch = trainer.epochs_run.cpu().numpy() - 1
    members = []
    for p, cfg in enumerate(trainer.configs):
        be = int(best_epoch[p])

        def at(key: str, p: int = p, be: int = be) -> float:
            return float(hist[key][be, p]) if be >= 0 else float("nan")

        n_run = int(trainer.epochs_run[p])
        members.append(
            MemberResult(
                index=p,
                position=p,
                config=cfg,
                status=_status(trainer, p),
                best_epoch=be,
                epochs_run=n_run,
                history={k: hist[k][:n_run, p].tolist() for k in HISTORY_KEYS},
                val_loss=at("val_loss"),
                val_score=at("val_score"),
                train_loss=at("train_loss"),
                train_score=at("train_score"),
                val_default_score=_best_default(hist["val_default_score"][:n_run, p]),
                diagnostics=member_diagnostics(trainer, p),
            )
        )
    return PopulationResult(
        model=trainer.model,
        loss_name=trainer.knobs.loss_name,
        members=members,
        knobs=trainer.knobs,
        history=hist,
        snapshots=trainer.snapshots,
    )


def _best_default(scores: np.ndarray) -> float:
    """The best default score (accuracy or R²) over the epochs a member ran: what a
    search ranking by that score would have seen of it (NaN when none is finite)."""
    finite = scores[np.isfinite(scores)]
    return float(finite.max()) if finite.size else float("nan")


def _status(trainer, p: int) -> str:
    if bool(trainer.diverged[p]):
        return "diverged"
    if bool(trainer.pruned[p]):
        return "pruned"
    if bool(trainer.stopped[p]):
        return "early_stopped"
    converged = getattr(trainer, "converged", None)  # full-batch methods' stopping rule
    if converged is not None and bool(converged[p]):
        return "converged"
    return "complete"
