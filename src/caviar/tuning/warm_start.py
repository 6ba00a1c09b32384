"""Warm starts from another run: its finished trials as the strategy's prior history.

``caviar tune CONFIG --from RUN`` (``search.warm_start = "RUN"``) reads the finished
trials of ``RUN``'s own study (``RUN/study.db``, or the server URL its ``summary.json``
saved) and hands them to the adaptive strategies as trials they have already seen, as
Optuna's ``study.add_trials`` does: they are not trained again and not copied into the
new study. The other run must have searched the same space (the same dimensions of
the same kinds); its scores must mean the same (the same metric), which the user
vouches for.
"""

from __future__ import annotations

import json
from pathlib import Path

from caviar.errors import CaviarError
from caviar.run_dir import read_only_storage, study_storage_url
from caviar.tuning.space import SearchSpace
from caviar.tuning.storage_records import decode_params, study_score
from caviar.tuning.strategies.base import History


def load_prior(run: str | Path, space: SearchSpace) -> History:
    """The finished trials of run directory ``run`` as ``(params, score)``, by index."""
    run_dir = Path(run)
    where = f"search.warm_start (--from) {run_dir}"
    if not run_dir.is_dir():
        raise CaviarError(f"{where}: not a run directory")
    summary_path = run_dir / "summary.json"
    try:
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    except (OSError, ValueError):
        raise CaviarError(f"{where}: cannot read {summary_path}") from None
    url = study_storage_url(run_dir, summary if isinstance(summary, dict) else {})
    if url is None:
        raise CaviarError(f"{where}: no study (no study.db and no storage in summary.json)")
    study = _open(url, where)
    stored_space = study.user_attrs.get("space")
    own = {d.path: d.kind for d in space.dimensions}
    if stored_space != own:
        raise CaviarError(f"{where}: its space {stored_space} differs from this search's {own}")
    trials = {
        int(t.user_attrs["index"]): t
        for t in study.get_trials(deepcopy=False)
        if t.state.is_finished() and "index" in t.user_attrs
    }
    return [(decode_params(space, t.params), study_score(t)) for _, t in sorted(trials.items())]


def _open(url: str, where: str):
    """The run's one study, read-only (no table is created)."""
    import optuna

    storage, names = read_only_storage(url, f"{where}: cannot open its study {url}")
    if len(names) != 1:
        raise CaviarError(f"{where}: {url} holds {len(names)} studies, expected one")
    return optuna.load_study(study_name=names[0], storage=storage)
