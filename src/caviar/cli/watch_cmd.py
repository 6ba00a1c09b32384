"""``caviar watch RUN_DIR`` and ``caviar set RUN_DIR --member M path=value`` (panda mode,
:mod:`caviar.training.live`). On a running ``caviar
tune`` they follow its populations and take ``--trial N`` (:mod:`caviar.cli.watch_tune`).

``watch`` follows a running ``caviar train`` (its ``RUN_DIR.live/progress.jsonl``; a
finished run's ``RUN_DIR/live/``): after every epoch it prints each member's losses,
score, learning rate and a sparkline of its validation loss, and the changes applied.
``set`` queues a change of a member's continuous hyperparameters; the training applies
it after its current epoch and records it (``summary.json`` ``changes``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from caviar.cli.watch_text import change_note, epoch_rows, header, row_text
from caviar.errors import CaviarError


def add_parser(sub: argparse._SubParsersAction) -> None:
    w = sub.add_parser("watch", help="follow a running caviar train or tune, epoch by epoch")
    w.add_argument("run_dir", help="the run directory given to caviar train/tune (-o)")
    w.add_argument("--interval", type=float, default=0.5, help="seconds between looks")
    w.add_argument("--timeout", type=float, default=None, help="stop after this many seconds")
    w.add_argument("--once", action="store_true", help="print the state now and exit")
    w.set_defaults(func=watch)
    s = sub.add_parser(
        "set", help="change a member's (trial's) hyperparameters in a running caviar train (tune)"
    )
    s.add_argument("run_dir", help="the run directory given to caviar train/tune (-o)")
    who = s.add_mutually_exclusive_group(required=True)
    who.add_argument("--member", type=int, help="caviar train: member index (leaderboard 'id')")
    who.add_argument("--trial", type=int, help="caviar tune: trial index (leaderboard 'trial')")
    s.add_argument("assignments", nargs="+", metavar="path=value", help="e.g. optimizer.lr=1e-4")
    s.set_defaults(func=set_knobs)


class _State:
    """What the progress lines said so far: per member, its latest numbers and curve."""

    def __init__(self) -> None:
        self.latest: dict[int, dict] = {}
        self.curves: dict[int, list] = {}
        self.done = False

    def feed(self, line: dict) -> str | None:
        """Take one progress line; return text to print for an applied/rejected change."""
        if line.get("done"):
            self.done = True
            return None
        if "applied" in line or "rejected" in line:
            return change_note(line, "member")
        for m, row in epoch_rows(line, line.get("members", [])).items():
            self.latest[m] = row
            self.curves.setdefault(m, []).append(row["val_loss"])
        return None

    def table(self) -> str:
        out = [header("member")]
        out += [row_text(m, self.latest[m], self.curves[m]) for m in sorted(self.latest)]
        return "\n".join(out)


def _progress_file(run_dir: Path) -> Path:
    from caviar.live_dir import live_dir_of  # no engine (torch) for watch/set

    live = live_dir_of(run_dir) / "progress.jsonl"
    if live.exists():
        return live
    done = run_dir / "live" / "progress.jsonl"
    if done.exists():
        return done
    raise CaviarError(f"no training to watch at {run_dir} (no {live} nor {done})")


def watch(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    path = _progress_file(run_dir)
    console, state, offset = Console(), None, 0
    start = time.monotonic()
    while True:
        if not path.exists():  # the run finished and moved its logs into RUN_DIR/live
            path = _progress_file(run_dir)
            offset = 0
            state = None
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
        end = data.rfind(b"\n") + 1
        offset += end
        lines = [json.loads(x) for x in data[:end].decode().splitlines() if x.strip()]
        if state is None and lines:  # a search says so in its first line
            state = _state_for(lines)
        if state is not None:
            for n in [n for n in (state.feed(x) for x in lines) if n]:
                console.print(n, markup=False)
            if any(k in x for x in lines for k in ("members", "trials", "trial")) or args.once:
                console.print(state.table(), markup=False, highlight=False)
            if state.done:
                return 0
        elif args.once:
            console.print("the run has not reported anything yet", markup=False)
        if args.once:
            return 0
        if args.timeout is not None and time.monotonic() - start > args.timeout:
            return 0
        time.sleep(args.interval)


def _is_tune(lines: list[dict]) -> bool:
    return bool(lines) and (lines[0].get("start") or {}).get("kind") == "tune"


def _state_for(lines: list[dict]):
    """The watch state of a train run, or of a search (its first line says so)."""
    if _is_tune(lines):
        from caviar.cli.watch_tune import TuneState

        return TuneState()
    return _State()


def _population_knobs(lines: list[dict], key: str, who: int) -> list[str] | None:
    """The per-member knobs of the population running ``key`` (``members``/``trials``)
    ``who``, from its first progress line; None when no line names them yet."""
    knobs: dict[Any, list[str]] = {}  # by population number (None: a line without one)
    found = None
    for line in lines:
        if "knobs" in line:
            knobs[line.get("population")] = line["knobs"]
        if who in (line.get(key) or []):
            found = line.get("population")
    return knobs.get(found) if found is not None else None


def _assignments(items: list[str], knobs: list[str] | None) -> dict[str, float]:
    from caviar.config.live_knobs import check_settable

    values = {}
    for item in items:
        path, sep, value = item.partition("=")
        if not sep:
            raise CaviarError(f"expected path=value, got '{item}'")
        values[path.strip()] = check_settable(path.strip(), value.strip(), knobs)
    return values


def set_knobs(args: argparse.Namespace) -> int:
    """Queue the changes after checking them: each path a per-member knob of the running
    population that holds the member (trial), each value inside the field's bounds."""
    from caviar.live_dir import append_line, live_dir_of, owner_running

    live = live_dir_of(Path(args.run_dir))
    if not live.is_dir():
        raise CaviarError(f"no running training or search at {args.run_dir} (no {live})")
    if owner_running(live) is False:
        raise CaviarError(f"the run that wrote {live} is no longer running")
    text = (live / "progress.jsonl").read_text()
    lines = [json.loads(x) for x in text[: text.rfind("\n") + 1].splitlines() if x.strip()]
    if not lines and args.trial is not None:
        raise CaviarError(f"no trial runs yet at {args.run_dir} (the search is starting)")
    if _is_tune(lines):
        if args.trial is None:
            raise CaviarError("this is a caviar tune: name the trial with --trial N")
        from caviar.cli.watch_tune import check_trial

        check_trial(lines, args.trial)
        values = _assignments(args.assignments, _population_knobs(lines, "trials", args.trial))
        append_line(live / "control.jsonl", {"trial": args.trial, "set": values})
        Console().print(f"queued for trial {args.trial}: {values} (applied after its epoch)")
        return 0
    if args.member is None:
        raise CaviarError("this is a caviar train: name the member with --member M")
    members = set()
    for line in lines:
        members.update(line.get("members", []))
    if members and args.member not in members:
        raise CaviarError(f"no member {args.member} in this run (members: {sorted(members)})")
    values = _assignments(args.assignments, _population_knobs(lines, "members", args.member))
    append_line(live / "control.jsonl", {"member": args.member, "set": values})
    Console().print(f"queued for member {args.member}: {values} (applied after its current epoch)")
    return 0
