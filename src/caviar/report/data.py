"""Loading a run directory into frames for the HTML report.

Three kinds of directory are recognised, in this order:

* a ``caviar tune`` run: an Optuna study (``RUN_DIR/study.db`` when it exists, so a
  moved or copied run reports its own study; else ``summary.json``'s ``storage``
  URL, absolute; the study ``run.json`` names when the storage holds several).
  Every finished trial with a caviar ``index`` user attribute is one row, read as
  caviar's :class:`~caviar.trial.Trial` (``RunData.records``;
  ``caviar.tuning.storage_records.stored_trial``: its validation curve is its
  intermediate values, the other curves user attributes; ``start`` and ``end`` are
  seconds since the search's first trial started). The study is opened read-only
  (no table creation, no lock file): the report never
  changes it, so it still opens in optuna-dashboard;
* a ``caviar train`` run: ``leaderboard.csv`` + ``history.csv`` (+ ``summary.json``);
* a ``caviar diagnose`` output: ``report.json`` (also accepted beside a run).

Rows are ranked like the tuner ranks trials: validation score descending (NaN
last), then validation loss ascending, then trial id.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from caviar.errors import CaviarError
from caviar.run_dir import read_marker, read_only_storage, study_storage_url
from caviar.training.result import display_epoch

METRICS = ("train_loss", "val_loss", "train_score", "val_score")
RESULT_COLUMNS = (
    "status",
    "val_score",
    "val_loss",
    "train_score",
    "best_epoch",
    "epochs_run",
    "round",
)
LOG_KINDS = ("log_uniform", "int_log_uniform")
# train runs have no search space: a positive numeric field spanning this ratio is
# drawn on a log axis
LOG_RATIO = 100.0


@dataclass
class RunData:
    """Everything the report draws, as plain frames."""

    kind: str  # "tune", "train" or "diagnose"
    run_dir: Path
    trials: pd.DataFrame  # one row per trial/member, ranked best first
    curves: pd.DataFrame  # long: id, epoch, train_loss, val_loss, train_score, val_score
    params: list[str]  # hyperparameter columns of ``trials``
    scales: dict[str, str]  # param -> "linear", "log", "one_minus_log" or "categorical"
    summary: dict[str, Any] = field(default_factory=dict)
    diagnose: list[dict[str, Any]] = field(default_factory=list)  # report.json "reports"
    study: Any = None  # the optuna Study (tune runs)
    study_name: str | None = None
    score_name: str = "score"
    # the trials as caviar.trial.Trial records (a search's study; a TrainRun's members)
    records: list = field(default_factory=list)

    @property
    def best_id(self) -> int | None:
        """The final model's trial: the first scored row (several objectives: the trial
        ``search.select`` chose, ``best_index`` in the summary)."""
        chosen = self.summary.get("best_index")
        if "front" in self.trials.columns and isinstance(chosen, int):
            if chosen in set(self.trials["id"]):
                return chosen
        ok = self.trials[np.isfinite(self.trials["val_score"].astype(float))]
        return None if ok.empty else int(ok.iloc[0]["id"])


def load_run(
    run_dir: str | Path,
    *,
    study_name: str | None = None,
    diagnose_dir: str | Path | None = None,
) -> RunData:
    """Read ``run_dir`` (see the module docstring); one-line :class:`CaviarError` on bad input."""
    run_dir = Path(run_dir)
    if not run_dir.exists():
        raise CaviarError(f"{run_dir}: no such directory")
    if not run_dir.is_dir():
        raise CaviarError(f"{run_dir}: not a directory")
    summary = _read_json(run_dir / "summary.json") if (run_dir / "summary.json").exists() else {}
    url = study_storage_url(run_dir, summary)  # a moved or copied run: its own study
    if study_name is None:  # the run's own study when its storage holds several
        study_name = (read_marker(run_dir) or {}).get("study")
    if url:
        run = _load_tune(run_dir, url, study_name, summary)
    elif (run_dir / "leaderboard.csv").exists() and (run_dir / "history.csv").exists():
        run = _load_train(run_dir, summary)
    elif (run_dir / "report.json").exists():
        run = RunData("diagnose", run_dir, _empty_trials(), _empty_curves(), [], {})
    else:
        raise CaviarError(
            f"{run_dir} is not a caviar run directory (expected study.db, "
            "leaderboard.csv + history.csv, or report.json)"
        )
    diag = Path(diagnose_dir) if diagnose_dir is not None else None
    if diag is None and (run_dir / "report.json").exists():
        diag = run_dir
    if diag is not None:
        run.diagnose = load_diagnose(diag)
    return run


def load_diagnose(path: str | Path) -> list[dict[str, Any]]:
    """The per-configuration reports of a ``caviar diagnose`` directory (or its report.json)."""
    path = Path(path)
    file = path / "report.json" if path.is_dir() else path
    if not file.exists():
        raise CaviarError(f"{path}: no diagnose report.json")
    data = _read_json(file)
    reports = data.get("reports") if isinstance(data, dict) else None
    if not isinstance(reports, list):
        raise CaviarError(f'{file}: expected {{"reports": [...]}} from caviar diagnose')
    return reports


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CaviarError(f"{path}: cannot read JSON ({str(e).splitlines()[0]})") from None


# -- tune runs ---------------------------------------------------------------------------
def open_study(url: str, study_name: str | None = None):
    """Load the study read-only (tables are never created; sqlite files must exist)."""
    import optuna

    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise CaviarError(f"cannot open study: {url.removeprefix('sqlite:///')} does not exist")
    storage, names = read_only_storage(url, f"cannot open study {url}")
    if study_name is None:
        if len(names) != 1:
            listed = ", ".join(names) if names else "none"
            raise CaviarError(
                f"{url} holds {len(names)} studies ({listed}); pass --study NAME"
                if names
                else f"{url} holds no study"
            )
        study_name = names[0]
    elif study_name not in names:
        raise CaviarError(f"{url}: no study named '{study_name}'")
    return optuna.load_study(study_name=study_name, storage=storage), study_name


def _display(value: Any, categorical: bool) -> Any:
    """Categorical values are stored as JSON text: show strings bare, others as JSON."""
    if not categorical:
        return value
    try:
        v = json.loads(value)
    except (TypeError, json.JSONDecodeError):
        return str(value)
    return v if isinstance(v, str) else json.dumps(v)


def _load_tune(run_dir: Path, url: str, study_name: str | None, summary: dict) -> RunData:
    study, name = open_study(url, study_name)
    return study_run_data(run_dir, study, name, summary)


def study_run_data(run_dir: Path, study, name: str | None, summary: dict) -> RunData:
    """A search's :class:`RunData` from its Optuna ``study`` (module docstring)."""
    from optuna.distributions import CategoricalDistribution

    try:
        space = json.loads(study.user_attrs.get("space", "{}"))
    except (TypeError, json.JSONDecodeError):
        space = study.user_attrs.get("space") or {}
    if not isinstance(space, dict):
        space = {}
    from caviar.tuning.storage_records import stored_trial, study_score

    rows, curves, scales, records = [], [], {}, []
    finished = [
        t
        for t in study.get_trials(deepcopy=False)
        if t.state.is_finished() and "index" in t.user_attrs
    ]
    starts = [t.datetime_start for t in finished if t.datetime_start is not None]
    origin = min(starts) if starts else None
    for t in finished:
        rec = stored_trial(t)  # caviar's one trial record (caviar.trial.Trial)
        records.append(rec)
        tid = rec.number
        row = {
            "id": tid,
            "number": t.number,
            "value": study_score(t),  # several objectives: the first, as caviar ranks it
            "state": t.state.name,
            "start": _seconds(t.datetime_start, origin),
            "end": _seconds(t.datetime_complete, origin),
        }
        for k in RESULT_COLUMNS:
            row[k] = rec.get(k)
        row["best_epoch"] = display_epoch(rec.get("best_epoch"))  # as train leaderboards
        if "cv_std" in rec:  # search.cv: the spread of the folds (val_score is their mean)
            row["cv_std"] = rec["cv_std"]
        row["status"] = t.user_attrs.get("status", row["status"])
        for p, v in t.params.items():
            cat = isinstance(t.distributions.get(p), CategoricalDistribution)
            row[p] = _display(v, cat)
            if p not in scales:
                scales[p] = _scale(space.get(p), t.distributions.get(p), p)
        rows.append(row)
        hist = rec.get("history") or {}
        n = max((len(hist.get(m) or []) for m in METRICS), default=0)
        for e in range(n):
            curves.append({"id": tid, "epoch": e + 1, **{m: _at(hist.get(m), e) for m in METRICS}})
    trials = pd.DataFrame(rows) if rows else _empty_trials()
    if rows:
        trials = _with_objectives(trials, study, records)
    params = [p for p in scales if p in trials.columns]
    task_score = summary.get("score_name") or "score"
    return RunData(
        "tune",
        run_dir,
        _rank(_numeric(trials)),
        pd.DataFrame(curves) if curves else _empty_curves(),
        params,
        scales,
        summary=summary,
        study=study,
        study_name=name,
        score_name=task_score,
        records=records,
    )


def _with_objectives(trials: pd.DataFrame, study, records: list) -> pd.DataFrame:
    """Several objectives: a column ``objective:<name>`` per objective and ``front``
    (1 = the Pareto front, 0: on none; :mod:`caviar.tuning.pareto`), rows in
    ``records`` order."""
    from caviar.report.pareto import PREFIX, study_objectives
    from caviar.tuning.pareto import stored_objectives, trial_fronts

    names, directions = study_objectives(study)
    if not names:
        return trials
    values = [stored_objectives(r, names) for r in records]
    for j, name in enumerate(names):
        trials[PREFIX + name] = [v[j] for v in values]
    trials["front"] = trial_fronts(records, names, directions)
    return trials


def _seconds(when, origin) -> float:
    if when is None or origin is None:
        return math.nan
    return (when - origin).total_seconds()


def is_seed(param: str) -> bool:
    """A seed is a label, not a quantity: drawn as a category (``train.seed``, ...)."""
    return param.rsplit(".", 1)[-1].endswith("seed")


def _scale(kind: str | None, dist: Any, param: str = "") -> str:
    from optuna.distributions import CategoricalDistribution

    if isinstance(dist, CategoricalDistribution) or kind == "choice" or is_seed(param):
        return "categorical"
    if kind in LOG_KINDS or (kind is None and getattr(dist, "log", False)):
        return "log"
    if kind == "one_minus_log_uniform":
        return "one_minus_log"
    return "linear"


def _at(series: list | None, i: int) -> float:
    if not series or i >= len(series) or series[i] is None:
        return math.nan
    return float(series[i])


# -- train runs --------------------------------------------------------------------------
def _load_train(run_dir: Path, summary: dict) -> RunData:
    try:
        board = pd.read_csv(run_dir / "leaderboard.csv")
        history = pd.read_csv(run_dir / "history.csv")
    except (OSError, ValueError) as e:
        raise CaviarError(
            f"{run_dir}: cannot read the run files ({str(e).splitlines()[0]})"
        ) from None
    for col in ("member", "val_score"):
        if col not in board.columns:
            raise CaviarError(f"{run_dir / 'leaderboard.csv'}: no '{col}' column")
    if "member" not in history.columns or "epoch" not in history.columns:
        raise CaviarError(f"{run_dir / 'history.csv'}: expected member and epoch columns")
    return train_run_data(board, history, run_dir, summary)


def train_run_data(
    board: pd.DataFrame, history: pd.DataFrame, run_dir: Path, summary: dict
) -> RunData:
    """A train run's :class:`RunData` from its leaderboard and history frames (the
    ``leaderboard.csv`` and ``history.csv`` layouts)."""
    trials = board.rename(columns={"member": "id"})
    params = [c for c in trials.columns if "." in c]
    scales = {p: "categorical" if is_seed(p) else _guess_scale(trials[p]) for p in params}
    curves = history.rename(columns={"member": "id"})
    for m in METRICS:
        if m not in curves.columns:
            curves[m] = math.nan
    return RunData(
        "train",
        run_dir,
        _rank(_numeric(trials)),
        curves[["id", "epoch", *METRICS]],
        params,
        scales,
        summary=summary,
        score_name=summary.get("score_name") or "score",
    )


def _guess_scale(values: pd.Series) -> str:
    """Numeric fields spanning a factor >= LOG_RATIO with positive values: log; else linear."""
    num = pd.to_numeric(values, errors="coerce")
    if num.isna().any():
        return "categorical"
    if (num > 0).all() and num.max() / num.min() >= LOG_RATIO:
        return "log"
    return "linear"


# -- shared ------------------------------------------------------------------------------
def _numeric(trials: pd.DataFrame) -> pd.DataFrame:
    for c in ("val_score", "val_loss", "train_score"):
        if c not in trials.columns:
            trials[c] = math.nan
        trials[c] = pd.to_numeric(trials[c], errors="coerce").astype(float)
    if "status" not in trials.columns:
        trials["status"] = "complete"
    return trials


def _rank(trials: pd.DataFrame) -> pd.DataFrame:
    """Validation score descending (NaN last), validation loss ascending, id; with
    several objectives by ``front`` first (the Pareto front, front 2, ..., then none)."""
    if trials.empty:
        return trials
    score = trials["val_score"].where(np.isfinite(trials["val_score"]), -np.inf)
    loss = trials["val_loss"].where(np.isfinite(trials["val_loss"]), np.inf)
    keys = [trials["id"].to_numpy(), loss.to_numpy(), -score.to_numpy()]
    if "front" in trials.columns:
        front = trials["front"].astype(float)
        keys.append(front.where(front > 0, np.inf).to_numpy())
    order = np.lexsort(keys)
    out = trials.iloc[order].reset_index(drop=True).drop(columns=["rank"], errors="ignore")
    out.insert(0, "rank", range(1, len(out) + 1))
    return out


def _empty_trials() -> pd.DataFrame:
    return pd.DataFrame(columns=["id", "status", "val_score", "val_loss", "train_score"])


def _empty_curves() -> pd.DataFrame:
    return pd.DataFrame(columns=["id", "epoch", *METRICS])
