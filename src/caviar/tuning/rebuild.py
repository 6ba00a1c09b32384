"""Rebuilding the weights of finished trials that are not in memory.

The final model needs the weights of the chosen trials (the best one, or the
top k). Trials trained by this process are kept in memory; a trial finished by
an earlier process (``--resume``) or by another process on the same study is
trained again from its stored record, reproducing the trial exactly (the
population run is deterministic: members are seeded, PBT's generator is seeded
per population):

* **Alone.** A trial without PBT steps trains alone from its stored parameters
  (the core invariant: a member follows the same trajectory alone as inside its
  population) and is finished after the epochs it ran (``epochs_run``, with
  :class:`StopAfter`): that reproduces a member pruned by successive halving or
  cut by the time budget. ``train.epochs`` is unchanged, so a schedule over the
  run (e.g. cosine with ``T = train.epochs``) is the same as in the trial.
* **Population replay.** A trial changed by PBT copied the weights of other
  members, so it cannot be trained alone: its whole population (record
  ``population``: the trial indices in row order) is trained again from the
  sampled values (``pbt_initial_params``, or ``params`` for members PBT never
  changed) with the same PBT settings and seed (record ``pbt``), each member
  finished after its ``epochs_run``. The rebuilt member's config then carries
  the values it ended with (as for a PBT trial trained in this process).
* **Changes made by** ``caviar set`` (the record's ``changes``, panda mode,
  :mod:`caviar.tuning.live_tune`) are applied again after the same epochs, in both
  modes, so a trial changed while it ran is rebuilt exactly too.
* **Fallback** (a PBT trial whose record lacks ``population``/``pbt`` or whose
  population is not entirely in the study, e.g. a study written by an older
  version): trained alone from scratch with its final values; this is *not* the
  trial and is reported as such.

:func:`rebuild` says how each trial was rebuilt (``"alone"``, ``"population"``
or ``"final_params"``); the search reports it in ``summary.json`` (``rebuilt``).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from caviar.config import RunConfig, validate_config
from caviar.training.hooks import TrainerCallback
from caviar.training.population import group_by_structure
from caviar.tuning.executor import MemberRecord, run_population
from caviar.tuning.live_tune import ReplayTrialChanges
from caviar.tuning.pbt import PopulationBasedTraining
from caviar.tuning.space import SearchSpace
from caviar.tuning.storage import decode_params


class StopAfter(TrainerCallback):
    """Callback: finish member ``m`` (a ``trainer.member_ids`` entry) once it has run
    ``epochs[m]`` epochs; members not in ``epochs`` are left alone."""

    def __init__(self, epochs: dict[int, int]) -> None:
        self.epochs = {int(k): int(v) for k, v in epochs.items()}

    def __call__(self, trainer) -> None:
        done = trainer.epoch + 1
        ids = getattr(trainer, "member_ids", list(range(trainer.size)))
        rows = [r for r in range(trainer.size) if self.epochs.get(ids[r], math.inf) <= done]
        if rows:
            mask = torch.zeros_like(trainer.alive)
            mask[rows] = True
            trainer.finish(mask)


def _config(base: dict, space: SearchSpace, params: dict[str, Any]) -> RunConfig:
    return validate_config(space.apply(base, params))


def _initial(space: SearchSpace, t: dict[str, Any]) -> dict[str, Any]:
    """The values a trial started with (``params`` are stored encoded, the PBT initial
    values decoded)."""
    if t.get("pbt_initial_params"):
        return dict(t["pbt_initial_params"])
    return decode_params(space, t["params"])


def _changes(members: list[dict[str, Any]]) -> ReplayTrialChanges:
    """The ``caviar set`` changes of a population's members (row order), replayed at
    the epochs they were made (first of the callbacks, as :class:`TrialControl` ran)."""
    return ReplayTrialChanges({row: m.get("changes") or [] for row, m in enumerate(members)})


def _replayable(t: dict[str, Any], by_index: dict[int, dict[str, Any]]) -> bool:
    pop = t.get("population") or []
    return bool(t.get("pbt")) and bool(pop) and all(int(i) in by_index for i in pop)


def rebuild(
    trials: list[dict[str, Any]],
    by_index: dict[int, dict[str, Any]],
    base: dict,
    space: SearchSpace,
    data,
) -> tuple[list[MemberRecord], dict[int, str]]:
    """Records (with weights) of ``trials`` (stored records), trained again as described
    in the module docstring; ``by_index`` holds every finished trial of the study (the
    population members of a PBT trial). Returns the records in order and how each
    trial was rebuilt."""
    out: dict[int, MemberRecord] = {}
    how: dict[int, str] = {}
    alone: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (trial, params to train)
    replays: dict[tuple[int, ...], list[dict[str, Any]]] = {}
    for t in trials:
        if not t.get("pbt_history"):
            alone.append((t, decode_params(space, t["params"])))
            how[t["index"]] = "alone"
        elif _replayable(t, by_index):
            replays.setdefault(tuple(int(i) for i in t["population"]), []).append(t)
            how[t["index"]] = "population"
        else:
            alone.append((t, decode_params(space, t["params"])))
            how[t["index"]] = "final_params"

    configs = [_config(base, space, p) for _, p in alone]
    for group in group_by_structure(configs) if configs else []:
        stop = {row: int(alone[i][0]["epochs_run"]) for row, i in enumerate(group)}
        replay = _changes([alone[i][0] for i in group])
        recs = run_population(
            [configs[i] for i in group], data, callbacks=[replay, StopAfter(stop)]
        )
        for i, r in zip(group, recs, strict=True):
            out[alone[i][0]["index"]] = r
            r.changes = list(alone[i][0].get("changes") or [])

    for pop, wanted in replays.items():
        members = [by_index[i] for i in pop]
        p = wanted[0]["pbt"]
        pbt = PopulationBasedTraining(
            list(space.dimensions),
            interval=int(p["interval"]),
            fraction=float(p["fraction"]),
            perturb=float(p["perturb"]),
            seed=int(p["seed"]),
        )
        stop = {row: int(m["epochs_run"]) for row, m in enumerate(members)}
        cfgs = [_config(base, space, _initial(space, m)) for m in members]
        recs = run_population(cfgs, data, callbacks=[_changes(members), pbt, StopAfter(stop)])
        for t in wanted:
            r = recs[pop.index(int(t["index"]))]
            r.changes = list(t.get("changes") or [])
            r.member.config = _config(base, space, decode_params(space, t["params"]))
            out[t["index"]] = r
    return [out[t["index"]] for t in trials], how
