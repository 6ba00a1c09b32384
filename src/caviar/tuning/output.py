"""Writing a search's results into its run directory (next to ``study.db``).

``model/`` (the final model, works with ``caviar predict``), ``leaderboard.csv``
(every trial ranked by validation score; with ``search.cv`` the score is the fold
mean, beside ``cv_std`` and each fold's score ``fold_1..fold_k``), ``summary.json`` (the ``--json``
output) and ``report.html`` (``caviar.report``). Each is written all-or-nothing
(temporary name, then a rename). ``caviar tune`` and ``caviar.tune(config, out=...)``
both write them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from caviar.atomic import atomic_file
from caviar.serialize import dumps
from caviar.training.result import display_epoch

COLUMNS = tuple("status val_score val_loss train_score best_epoch epochs_run stopped_by".split())


def leaderboard(result) -> pd.DataFrame:
    rows = []
    for rank, t in enumerate(result.trials, start=1):
        row = {"rank": rank, "trial": t["index"]}
        row.update({k: v for k, v in t["params"].items()})
        for k in COLUMNS:
            row[k] = t.get(k)
            if k == "val_score" and "cv_scores" in t:  # search.cv: the folds' spread
                row["cv_std"] = t.get("cv_std")
        row["best_epoch"] = display_epoch(t.get("best_epoch"))  # stored 0-based
        for f, s in enumerate(t.get("cv_scores") or [], start=1):  # each fold's score
            row[f"fold_{f}"] = s
        rows.append(row)
    return pd.DataFrame(rows)


def write_outputs(result, run_dir: str | Path) -> dict:
    """Write model, leaderboard and summary; returns the summary dict."""
    run_dir = Path(run_dir)
    result.model.save(run_dir / "model")
    with atomic_file(run_dir / "leaderboard.csv") as tmp:
        leaderboard(result).to_csv(tmp, index=False)
    info = {**result.summary(), "run_dir": str(run_dir), "model_dir": str(run_dir / "model")}
    with atomic_file(run_dir / "summary.json") as tmp:
        tmp.write_text(dumps(info))
    from caviar.report import report_after_tune  # last, and a failure only warns

    report = report_after_tune(run_dir, result.plan.name)
    if report is not None:
        info["report"] = str(report)
    return info
