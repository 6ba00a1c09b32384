"""Panda mode for ``caviar tune`` (babysitting one model, :ref:`bg-caviar-approach`): watch the
populations of a running search and change a running trial's knobs between epochs.

A ``caviar tune -o RUN_DIR`` writes, while it runs, ``RUN_DIR.live/`` (as ``caviar
train`` does; :mod:`caviar.training.live`):

* ``owner.json`` -- the process and host running the search (a directory left by a
  killed search is taken over by the next run; one held by a live process is left to
  it, and a second process joining the study runs without panda mode);
* ``progress.jsonl`` -- a ``start`` line (``kind = "tune"``, the executor), then per
  population and epoch ``{"population", "round", "epoch", "epochs", "trials",
  "train_loss", "val_loss", "val_score", "lr", "alive"}`` (``trials``: the trial index,
  the leaderboard's ``trial``, of each row still in the population), ``applied`` /
  ``rejected`` lines for the commands, a ``population_end`` line and one ``trial`` line
  per finished trial (status, validation score), and a last ``done`` line;
* ``control.jsonl`` -- ``{"trial": N, "set": {"optimizer.lr": 1e-4}}`` lines appended by
  ``caviar set RUN_DIR --trial N path=value``.

:class:`TrialControl` (a trainer callback, first of a population's callbacks) applies
the commands for its running trials after each epoch with
:func:`caviar.training.live.apply_change` (schema-validated; a bad value, a field that
is not a per-member continuous knob, or a trial that has stopped is rejected and
changes nothing). Each change ``{"epoch": e, "path", "old", "new"}`` (the new value holds
from epoch ``e + 1``) goes into its trial's record (the ``changes`` user attribute of
the Optuna trial); :class:`ReplayTrialChanges` applies such lists at the same epochs,
so a ``--resume`` rebuild (:mod:`caviar.tuning.rebuild`) and the ``train_val`` refit
replay the trial exactly. At the end the logs are kept in ``RUN_DIR/live/`` (appended
to on a resume). The Ray executor trains populations in other processes: its
searches report finished trials only, and ``caviar set`` refuses them.
"""

from __future__ import annotations

import math
from pathlib import Path

from caviar.errors import CaviarError
from caviar.live_dir import OWNER, append_line, claim_live_dir, live_dir_of, owner_running
from caviar.training.hooks import TrainerCallback
from caviar.training.live import LiveControl, apply_change

__all__ = [
    "OWNER", "ReplayTrialChanges", "TrialControl", "keep_search_logs", "live_dir_of",
    "open_search_live_dir", "owner_running",
]  # fmt: skip


def open_search_live_dir(run_dir: str | Path) -> Path | None:
    """Create ``RUN_DIR.live`` for a starting search; None when a live process holds it
    (another process on the same study, or a running ``caviar train``). A directory
    whose owner has died (a killed search) is replaced."""
    return claim_live_dir(run_dir)


def keep_search_logs(live: Path, run_dir: Path) -> None:
    """Append this session's progress and control logs to ``RUN_DIR/live/``."""
    into = run_dir / "live"
    into.mkdir(exist_ok=True)
    for name in ("progress.jsonl", "control.jsonl"):
        if (live / name).exists():
            with open(into / name, "ab") as f:
                f.write((live / name).read_bytes())


def _rows(trainer) -> list[int]:
    """The population row (at its start) of each row the trainer holds now."""
    return list(getattr(trainer, "member_ids", range(trainer.size)))


class TrialControl(LiveControl):
    """Trainer callback of one tune population: its progress line after every epoch, and
    the ``caviar set`` commands addressed to its running trials (module docstring).
    ``trials``: the trial of each population row at its start; with ``search.cv = k`` a
    trial has ``k`` rows (its folds): the progress line shows their mean and a change
    applies to all of them."""

    def __init__(self, live_dir: Path, trials: list[int], population: int, round_: int) -> None:
        super().__init__(live_dir, trials, population)
        self.round = round_
        control = self.dir / "control.jsonl"
        self.offset = control.stat().st_size if control.exists() else 0  # new commands only
        self.by_trial: dict[int, list[dict]] = {}

    def _progress(self, trainer) -> None:
        h = trainer.history
        by_trial: dict[int, list[int]] = {}  # trial -> its rows now (folds: several)
        for row, start_row in enumerate(_rows(trainer)):
            by_trial.setdefault(self.members[start_row], []).append(row)
        alive = trainer.alive.tolist()
        line = {
            "population": self.population,
            "round": self.round,
            "epoch": trainer.epoch + 1,
            "epochs": trainer.epochs,
            "trials": list(by_trial),
            **{k: _means(h[k][-1].tolist(), by_trial) for k in ("train_loss", "val_loss",
               "val_score", "lr")},
            "alive": [any(alive[r] for r in rows) for rows in by_trial.values()],
            **self.knobs_field(trainer),
        }  # fmt: skip
        append_line(self.dir / "progress.jsonl", line)

    def _reject(self, trial: int, path: str, value, reason: str) -> None:
        append_line(
            self.dir / "progress.jsonl",
            {"rejected": {"trial": trial, "path": path, "value": value}, "reason": reason,
             "population": self.population},
        )  # fmt: skip

    def _apply(self, trainer, command: dict) -> None:
        trial = command.get("trial")
        if trial not in self.members:
            return  # another population's trial
        rows = _rows(trainer)
        starts = [s for s, t in enumerate(self.members) if t == trial and s in rows]
        live = [rows.index(s) for s in starts if bool(trainer.alive[rows.index(s)])]
        for path, value in (command.get("set") or {}).items():
            if not live:
                self._reject(trial, path, value, f"trial {trial} has stopped")
                continue
            try:
                rec = [apply_change(trainer, row, trial, path, value) for row in live][0]
            except (CaviarError, TypeError, ValueError) as e:
                self._reject(trial, path, value, str(e))
                continue
            change = {k: rec[k] for k in ("epoch", "path", "old", "new")}
            self.by_trial.setdefault(trial, []).append(change)
            self.changes.append({"trial": trial, **change})
            append_line(
                self.dir / "progress.jsonl",
                {"applied": {"trial": trial, **change}, "population": self.population},
            )

    def close(self) -> None:
        """At the population's end: commands that came too late are rejected (logged)."""
        if self.off:
            return
        try:
            self._reject_late()
        except OSError:
            self.off = True  # the live directory went away; the search goes on

    def _reject_late(self) -> None:
        for command in self._new_commands():
            trial = command.get("trial")
            if trial in self.members:
                for path, value in (command.get("set") or {}).items():
                    self._reject(trial, path, value, f"trial {trial} has finished")


def _means(values: list, by_trial: dict[int, list[int]]) -> list:
    """Per trial, the mean of its rows' values (None where one is not finite)."""
    out = []
    for rows in by_trial.values():
        v = [values[r] for r in rows]
        out.append(None if any(x is None or not math.isfinite(x) for x in v) else sum(v) / len(v))
    return out


class ReplayTrialChanges(TrainerCallback):
    """Callback: apply recorded changes (``changes[row]``: ``{"epoch", "path", "new"}``
    lists, ``row`` = the population row at its start) after the same epochs."""

    def __init__(self, changes: dict[int, list[dict]]) -> None:
        self.todo = {int(r): list(c) for r, c in changes.items() if c}

    def __call__(self, trainer) -> None:
        if not self.todo:
            return
        done = trainer.epoch + 1
        rows = _rows(trainer)
        for start_row, changes in self.todo.items():
            for c in changes:
                if int(c["epoch"]) == done and start_row in rows:
                    row = rows.index(start_row)
                    apply_change(trainer, row, start_row, c["path"], float(c["new"]))
