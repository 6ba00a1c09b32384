"""A study's identity: ``--resume`` continues a study only with the search it was run with.

The study keeps (user attribute ``search``) the validated base configuration,
the space, halving and PBT settings, the :data:`IDENTITY_SETTINGS` and a
fingerprint of the prepared data (:func:`caviar.data.data_fingerprint`); the
trial and time budgets, the refit and the ensemble size may change between a
run and its ``--resume``. :func:`open_study` opens the study and refuses a
different identity with the first field that differs.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from caviar.config import validate_config
from caviar.errors import CaviarError, CaviarWarning
from caviar.serialize import json_safe
from caviar.tuning.objectives import directions_of
from caviar.tuning.plan import TunePlan
from caviar.tuning.storage import TrialStore

#: search settings that decide which configuration a trial index is and how it trains;
#: the others (trials, time_budget, batch, refit, ensemble_top_k, memory budget,
#: max_population) may change between a run and its --resume
IDENTITY_SETTINGS = ("strategy", "seed", "grid_points", "shrink", "top_fraction")


def search_identity(plan: TunePlan) -> dict[str, Any]:
    """What a study's trials depend on, stored in the study (user attribute ``search``):
    ``--resume`` with a different one is refused, since the stored trials (and the
    rebuild of their weights, ``caviar.tuning.rebuild``) belong to this configuration."""
    s = plan.settings
    out: dict[str, Any] = {
        "config": validate_config(plan.base).model_dump(mode="json"),
        "space": s.space,
        "halving": s.halving.model_dump() if s.halving is not None else None,
        "pbt": s.pbt.model_dump() if s.pbt is not None else None,
    }
    out.update({k: getattr(s, k) for k in IDENTITY_SETTINGS})
    # added only when used, so studies written before these settings existed still resume
    for key in ("sampler", "enqueue", "objectives"):
        if getattr(s, key):
            out[key] = getattr(s, key)
    if s.warm_start is not None:
        out["warm_start"] = str(Path(s.warm_start).resolve())
    return json_safe(out)


def first_difference(a: Any, b: Any, path: str = "") -> tuple[str, Any, Any]:
    """The first dotted path where ``a`` and ``b`` differ, with both values."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in [*a, *[k for k in b if k not in a]]:
            if a.get(k) != b.get(k):
                return first_difference(a.get(k), b.get(k), f"{path}.{k}" if path else k)
    return path or "(all)", a, b


def open_study(url: str, plan: TunePlan, identity: dict[str, Any], resume: bool) -> TrialStore:
    """The study at ``url`` for ``plan``, created if new; a study with trials needs
    ``resume``, and one run with another ``identity`` is refused (one line naming the
    first difference). Records the space's dimension kinds and, once, the identity."""
    s = plan.settings
    objectives = list(s.objectives) if s.objectives else None
    directions = directions_of(s) if objectives else None
    store = TrialStore(url, plan.name, create=True, objectives=objectives, directions=directions)
    try:
        return _checked(store, url, plan, identity, resume)
    except BaseException:
        store.close()  # a refused resume leaves the study file as it was
        raise


def _checked(
    store: TrialStore, url: str, plan: TunePlan, identity: dict[str, Any], resume: bool
) -> TrialStore:
    if not resume and store.finished():
        raise CaviarError(f"study '{plan.name}' in {url} already has trials; pass --resume")
    stored = store.meta().get("search")
    if resume and stored is None and not store.finished():
        warnings.warn(
            f"--resume: no study '{plan.name}' in {url} to resume; started a new one",
            CaviarWarning,
            stacklevel=3,
        )
    if stored is not None and "data" not in stored:  # written before data was checked
        stored = {**stored, "data": identity["data"]}
    if stored is not None and stored != identity:
        path, was, now = first_difference(stored, identity)
        raise CaviarError(
            f"study '{plan.name}' in {url} was run with another configuration ({path}: "
            f"{was!r} then, {now!r} now); resume with the same config or use another "
            "run directory"
        )
    store.set_meta("space", {d.path: d.kind for d in plan.space.dimensions})
    if stored is None:
        store.set_meta("search", identity)
        if store.objectives:  # Optuna's plots label each objective's axis with its name
            _name_objectives(store)
    return store


def _name_objectives(store: TrialStore) -> None:
    """Name the study's objectives (``study.set_metric_names``, experimental in Optuna)."""
    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        store.study.set_metric_names(list(store.objectives or []))
