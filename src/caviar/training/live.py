"""Panda mode (babysitting one model, :ref:`bg-caviar-approach`): watch a running training
and change a member's knobs between epochs, keeping the run reproducible.

A ``caviar train`` run with a live directory (``RUN_DIR.live/``, beside the run
directory that appears, complete, at the end) writes there:

* ``progress.jsonl`` -- one line per population and epoch: epoch, member indices, and
  per member train/validation loss, validation score, learning rate and alive flag;
  ``applied``/``rejected`` lines for each control command; a last ``done`` line;
* ``control.jsonl`` -- commands appended by ``caviar set RUN_DIR --member M path=value``:
  ``{"member": M, "set": {"optimizer.lr": 1e-4}}``.

Between epochs (a trainer callback, after validation) :class:`LiveControl` applies the
new commands addressed to its population's members with ``trainer.set_hyper``: the
value is validated with the member's configuration schema (a bad value is rejected and
changes nothing), and each change is logged as ``{"epoch": e, "member": M, "path",
"old", "new"}`` -- ``e`` epochs were done, the new value holds from epoch ``e + 1`` (1-based).
The changes end up in each member's result (``MemberResult.changes``) and the run's
``summary.json``; :class:`ReplayChanges` applies such a list at the same epochs, so
``caviar.api.train(config, changes=...)`` retrains the run exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

from caviar.config import set_path, validate_config
from caviar.config.live_knobs import check_settable, knob_of, path_of
from caviar.errors import CaviarError
from caviar.live_dir import append_line, claim_live_dir, live_dir_of, live_view_off
from caviar.training.hooks import TrainerCallback

__all__ = [
    "LiveControl", "ReplayChanges", "append_line", "apply_change", "check_settable",
    "keep_live_files", "knob_of", "live_callbacks", "live_dir_of", "open_live_dir",
    "settable_paths",
]  # fmt: skip


def settable_paths(trainer) -> list[str]:
    """The config paths of the per-member knobs this population holds (what ``caviar
    set`` may change in it)."""
    out = []
    for group in ("optimizer", "loss", "penalty", "schedule", "regularize", "extra"):
        table = getattr(trainer.knobs, group, None)
        if isinstance(table, dict):
            out += [path_of(group, name) for name in table]
    return sorted(out)


def apply_change(trainer, row: int, member: int, path: str, value: float) -> dict:
    """Set ``path`` of population row ``row`` to ``value``; the change record."""
    group, name = knob_of(path)
    table = getattr(trainer.knobs, group, None)
    if not isinstance(table, dict) or name not in table:
        raise CaviarError(f"no per-member '{path}' in this population")
    raw = trainer.configs[row].model_dump(mode="json")
    set_path(raw, path, value)
    validate_config(raw, where=f"set {path}")  # the schema's bounds
    values = table[name].clone()
    old = float(values[row])
    values[row] = float(value)
    trainer.set_hyper(group, name, values)
    return {"epoch": trainer.epoch + 1, "member": member, "path": path, "old": old,
            "new": float(value)}  # fmt: skip


class _Changes(TrainerCallback):
    """Common part: which members this population holds, and the changes made."""

    def __init__(self, members: list[int]) -> None:
        self.members = list(members)
        self.changes: list[dict] = []

    def changes_for(self, member: int) -> list[dict]:
        return [c for c in self.changes if c["member"] == member]


class ReplayChanges(_Changes):
    """Callback: apply recorded changes (``{"epoch", "member", "path", "new"}``) after the
    same epochs, for the members of this population."""

    def __init__(self, members: list[int], changes: list[dict]) -> None:
        super().__init__(members)
        self.todo = [c for c in changes if int(c["member"]) in self.members]

    def __call__(self, trainer) -> None:
        done = trainer.epoch + 1
        for c in [c for c in self.todo if int(c["epoch"]) == done]:
            m = int(c["member"])
            rec = apply_change(trainer, self.members.index(m), m, c["path"], float(c["new"]))
            self.changes.append(rec)


class LiveControl(_Changes):
    """Callback: write each epoch's progress, apply new ``control.jsonl`` commands."""

    def __init__(self, live_dir: Path, members: list[int], population: int, folds: int = 1) -> None:
        super().__init__(members)
        self.dir = Path(live_dir)
        self.population = population
        self.folds = folds  # rows per configuration: its k folds under train.cv / search.cv
        self.offset = 0  # bytes of control.jsonl already read
        self.off = False  # the live directory went away: no more progress or commands
        self.knobs_sent = False

    def refuse_folds(self, key: str, command: dict) -> bool:
        """Under cross-validation (``folds > 1``) reject the command's changes (a line each
        in the progress log) and return True: a configuration's folds are not changed
        mid-run."""
        if self.folds == 1:
            return False
        for path, value in (command.get("set") or {}).items():
            append_line(
                self.dir / "progress.jsonl",
                {"rejected": {key: command.get(key), "path": path, "value": value},
                 "reason": f"{key} {command.get(key)} is cross-validated (cv = {self.folds});"
                 " caviar set does not change its folds mid-run",
                 "population": self.population},
            )  # fmt: skip
        return True

    def __call__(self, trainer) -> None:
        if self.off:
            return
        try:
            self._progress(trainer)
            for command in self._new_commands():
                self._apply(trainer, command)
        except OSError as e:  # RUN_DIR.live removed, unwritable, disk full: train on
            self.off = True
            live_view_off(self.dir, e)

    def knobs_field(self, trainer) -> dict:
        """``{"knobs": [paths]}`` in a population's first progress line, else ``{}``."""
        if self.knobs_sent:
            return {}
        self.knobs_sent = True
        return {"knobs": settable_paths(trainer)}

    def _progress(self, trainer) -> None:
        h = trainer.history
        append_line(
            self.dir / "progress.jsonl",
            {
                "population": self.population,
                "epoch": trainer.epoch + 1,
                "epochs": trainer.epochs,
                "members": self.members,
                **{k: h[k][-1].tolist() for k in ("train_loss", "val_loss", "val_score", "lr")},
                "alive": trainer.alive.tolist(),
                **self.knobs_field(trainer),
            },
        )

    def _new_commands(self) -> list[dict]:
        path = self.dir / "control.jsonl"
        if not path.exists():
            return []
        with open(path, "rb") as f:
            f.seek(self.offset)
            data = f.read()
        end = data.rfind(b"\n") + 1  # whole lines only
        self.offset += end
        out = []
        for line in data[:end].decode().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def _apply(self, trainer, command: dict) -> None:
        member = command.get("member")
        if member not in self.members or self.refuse_folds("member", command):
            return  # another population's member, or a cross-validated one
        row = self.members.index(member)
        for path, value in (command.get("set") or {}).items():
            try:
                rec = apply_change(trainer, row, member, path, value)
            except (CaviarError, TypeError, ValueError) as e:
                append_line(self.dir / "progress.jsonl",
                            {"rejected": {"member": member, "path": path, "value": value},
                             "reason": str(e), "population": self.population})  # fmt: skip
                continue
            self.changes.append(rec)
            append_line(
                self.dir / "progress.jsonl", {"applied": rec, "population": self.population}
            )


def open_live_dir(run_dir: str | Path) -> Path:
    """Create ``RUN_DIR.live`` for a starting run, owned by this process (CaviarError if
    a running training holds it; one left by a killed run is taken over)."""
    live = claim_live_dir(run_dir)
    if live is None:
        raise CaviarError(
            f"{live_dir_of(run_dir)} exists: another training is running there "
            "(remove it if none is)"
        )
    return live


def keep_live_files(live: Path, into: Path) -> None:
    """Copy the progress and control logs into the finished run directory's ``live/``
    (what can still be read: a live directory removed mid-run leaves none)."""
    (into / "live").mkdir()
    for name in ("progress.jsonl", "control.jsonl"):
        try:
            (into / "live" / name).write_bytes((live / name).read_bytes())
        except FileNotFoundError:
            continue
        except PermissionError:
            continue


def live_callbacks(
    members: list[int],
    population: int,
    live_dir: str | Path | None,
    changes: list | None,
    folds: int = 1,
) -> list:
    """The panda-mode callbacks of one population of ``caviar.api.train`` (``members``:
    the configuration of each row; ``folds`` rows each under ``train.cv``)."""
    out: list = []
    if changes and folds == 1:
        out.append(ReplayChanges(members, changes))
    if live_dir is not None:
        out.append(LiveControl(Path(live_dir), members, population, folds))
    return out
