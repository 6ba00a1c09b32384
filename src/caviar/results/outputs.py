"""Writing a run's outputs into its run directory: the one code path of ``caviar train``,
``caviar tune``, ``caviar.train(out=...)`` and ``caviar.tune(out=...)``.

A train run directory holds ``model/`` (the best member or ensemble: safetensors + JSON,
works with ``caviar predict``), ``leaderboard.csv``, ``history.csv`` (every member,
every epoch), ``summary.json`` and ``diagnostics.json`` (per member: initialization
checks and per-layer gradient norms), written all or nothing, then ``report.html``.
A search's run directory (beside ``study.db``) gets ``model/``, ``leaderboard.csv``
(every trial ranked by validation score, with several objectives the Pareto front first
and a column per objective; with ``search.cv`` the score is the fold mean,
beside ``cv_std`` and each fold's score ``fold_1..fold_k``), ``summary.json`` and
``report.html`` (:mod:`caviar.report`), each all or nothing. A report that fails is a
warning: the other outputs are already written.

This module sits above :mod:`caviar.tuning` and :mod:`caviar.report`: neither imports it;
the entry points do (``caviar.train`` in :mod:`caviar.api`, ``caviar.tune`` in
:mod:`caviar.tuning.runner`, the CLI; the layers are declared in ``tests/test_layers.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from caviar.atomic import atomic_directory, atomic_file
from caviar.results.frames import decode_choice, train_history, train_leaderboard
from caviar.run_dir import MARKER, marker
from caviar.serialize import dumps
from caviar.training.result import display_epoch


# -- searches ----------------------------------------------------------------------------
def leaderboard(result) -> pd.DataFrame:
    """A search's trials ranked best first: ``rank``, ``trial``, the parameters (choices
    as the values they were, lists as lists), then the results."""
    cats = {d.path for d in result.plan.space.dimensions if d.categorical}
    rows = []
    for rank, t in enumerate(result.trials, start=1):  # caviar.trial.Trial records
        row = {"rank": rank, "trial": t.number}
        row.update({k: decode_choice(v) if k in cats else v for k, v in t.params.items()})
        row.update(status=t.state, val_score=t.value)
        if "front" in t:  # several objectives: the Pareto front ranks first
            row["front"] = t.get("front")
            row.update(t.get("objectives") or {})
        if "cv_scores" in t.user_attrs:  # search.cv: the folds' spread
            row["cv_std"] = t.user_attrs.get("cv_std")
        row.update(val_loss=t.val_loss, train_score=t.train_score)
        row["best_epoch"] = display_epoch(t.best_epoch)  # stored 0-based
        row["epochs_run"] = t.epochs_run
        row["stopped_by"] = t.user_attrs.get("stopped_by")
        for f, s in enumerate(t.user_attrs.get("cv_scores") or [], start=1):  # each fold
            row[f"fold_{f}"] = s
        rows.append(row)
    return pd.DataFrame(rows)


def write_tune_outputs(result, run_dir: str | Path) -> dict:
    """Write a search's model, leaderboard, summary and report; returns the summary."""
    run_dir = Path(run_dir)
    result.model.save(run_dir / "model")
    with atomic_file(run_dir / "leaderboard.csv") as tmp:
        leaderboard(result).to_csv(tmp, index=False)
    info = {**result.summary(), "run_dir": str(run_dir), "model_dir": str(run_dir / "model")}
    with atomic_file(run_dir / "summary.json") as tmp:
        tmp.write_text(dumps(info))
    from caviar.report import report_after_run  # last, and a failure only warns

    report = report_after_run(run_dir, result.plan.name)
    if report is not None:
        info["report"] = str(report)
    return info


# -- train runs --------------------------------------------------------------------------
def train_summary(run, out: Path) -> dict:
    """``summary.json`` of a train run."""
    from caviar.training.member_diagnostics import member_warnings
    from caviar.training.scoring import score_name

    counts = pd.Series([m.status for m in run.members]).value_counts().to_dict()
    return {
        "task": run.data.task,
        "n_configs": len(run.members),
        "n_populations": len(run.populations),
        "status_counts": counts,
        "best": {**run.best.summary(), "config": run.best.config.model_dump(mode="json")},
        "test_loss": run.test_loss,
        "test_score": run.test_score,
        "score_name": score_name(run.best.config.train.metric, run.data.task),
        "seconds": run.seconds,
        "run_dir": str(out),
        "model_dir": str(out / "model"),
        "warnings": member_warnings(run.members),
        "changes": [c for m in run.members for c in m.changes],  # caviar set, in order
        "data": data_facts(run.data),
        "trees": trees_beside(run),
    }


def data_facts(data) -> dict:
    """What the data preparation did: values imputed per column, rows dropped for a
    missing target, and the target's standardization (regression)."""
    pre = data.preprocessor
    return {
        "imputed": dict(data.imputed or {}),
        "dropped_rows": int(data.dropped_rows),
        "target_mean": getattr(pre, "target_mean", None),
        "target_std": getattr(pre, "target_std", None),
    }


def trees_beside(run) -> dict:
    """Boosted trees on the same split, scored with the run's metric, and the verdict
    (:mod:`caviar.diagnose.trees`); ``{"skipped": reason}`` when they cannot be fitted."""
    from caviar.diagnose.trees import trees_report

    metric = run.best.config.train.metric
    try:
        return trees_report(run.data, float(run.best.val_score), metric=metric)
    except (ValueError, MemoryError) as exc:  # e.g. too few rows for the trees
        return {"skipped": f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"}


def write_train_outputs(
    run,
    out: str | Path,
    *,
    config: str | Path | None = None,
    overwrite: bool = False,
    live: Path | None = None,
    report: bool = True,
) -> dict[str, Any]:
    """Write a train run's directory ``out`` all or nothing (an earlier one replaced
    only with ``overwrite``), then its report; returns the summary written
    (``config``: the TOML file the run came from, recorded in ``run.json``; ``live``:
    panda mode's files to keep)."""
    from caviar.training.live import keep_live_files

    out = Path(out)
    board = train_leaderboard(run)
    with atomic_directory(out, replace=overwrite) as tmp:
        fields = {"config": str(Path(config).resolve())} if config is not None else {}
        (tmp / MARKER).write_text(marker("train", **fields))
        run.best_model.save(tmp / "model")
        board.to_csv(tmp / "leaderboard.csv", index=False)
        train_history(run).to_csv(tmp / "history.csv", index=False)
        info = train_summary(run, out)
        (tmp / "summary.json").write_text(dumps(info))
        diagnostics = {str(m.index): m.diagnostics for m in run.members}
        (tmp / "diagnostics.json").write_text(dumps(diagnostics))  # init + gradient monitor
        if live is not None:
            keep_live_files(live, tmp)
    if report:
        from caviar.report import report_after_run  # after the run directory; a failure warns

        written = report_after_run(out)
        if written is not None:
            info["report"] = str(written)
    return info


__all__ = [
    "leaderboard",
    "train_history",
    "train_leaderboard",
    "train_summary",
    "write_train_outputs",
    "write_tune_outputs",
]
