"""``caviar watch`` / ``caviar set`` on a running ``caviar tune`` (panda mode,
:mod:`caviar.tuning.live_tune`).

The watch shows each running population (its round, epoch, trials alive) with one row
per trial (losses, score, learning rate, a sparkline of its validation loss; ``*``: the
trial has stopped), the changes applied, and a line on the finished trials (counts by
status, the best so far). ``caviar set --trial N`` is refused unless trial ``N`` runs
now, in a population of this process on the local executor.
"""

from __future__ import annotations

import math
from collections import Counter

from caviar.cli.sparkline import sparkline
from caviar.errors import CaviarError

KEYS = ("train_loss", "val_loss", "val_score", "lr", "alive")


def _num(v) -> str:
    return "-" if v is None else f"{v:.4g}"


class TuneState:
    """What the progress lines of a search said so far."""

    def __init__(self) -> None:
        self.executor = "local"
        self.running: dict[int, dict] = {}  # population -> its latest epoch line
        self.rows: dict[int, dict] = {}  # trial -> latest numbers
        self.curves: dict[int, list] = {}
        self.finished: dict[int, dict] = {}  # trial -> its trial line
        self.seen: dict[int, set] = {}  # population -> every trial it reported
        self.done = False

    def feed(self, line: dict) -> str | None:
        """Take one progress line; text to print for an applied/rejected change."""
        if "start" in line:
            self.executor = line["start"].get("executor", "local")
        elif line.get("done"):
            self.done = True
        elif "applied" in line:
            c = line["applied"]
            change = f"{c['path']} {c['old']:g} -> {c['new']:g}"
            return f"trial {c['trial']}: {change} after epoch {c['epoch']}"
        elif "rejected" in line:
            r = line["rejected"]
            return f"trial {r['trial']}: {r['path']} = {r['value']} rejected: {line['reason']}"
        elif "population_end" in line:
            self.running.pop(line["population_end"], None)
            self.seen.pop(line["population_end"], None)
        elif "trial" in line:
            t = line["trial"]
            self.finished[int(t["index"])] = t
            self.rows.pop(int(t["index"]), None)
        elif "trials" in line:
            self.running[line["population"]] = line
            self.seen.setdefault(line["population"], set()).update(line["trials"])
            for j, trial in enumerate(line["trials"]):
                row = {k: line[k][j] for k in KEYS}
                row.update(epoch=line["epoch"], epochs=line["epochs"])
                self.rows[trial] = row
                self.curves.setdefault(trial, []).append(row["val_loss"])
        return None

    def table(self) -> str:
        out = []
        for number, line in sorted(self.running.items()):
            alive = sum(line["alive"])
            out.append(
                f"population {number} (round {line['round']}): epoch "
                f"{line['epoch']}/{line['epochs']}, {alive} of {len(line['trials'])} trials alive"
            )
            out.append(
                f"{'trial':>6} {'epoch':>9} {'train':>9} {'val':>9} {'score':>7} {'lr':>9}"
                "  val curve"
            )
            for trial in line["trials"]:
                r = self.rows.get(trial)
                if r is None:
                    continue
                ep = f"{r['epoch']}/{r['epochs']}" + ("" if r["alive"] else "*")
                out.append(
                    f"{trial:>6} {ep:>9} {_num(r['train_loss']):>9} {_num(r['val_loss']):>9} "
                    f"{_num(r['val_score']):>7} {_num(r['lr']):>9}  "
                    f"{sparkline(self.curves[trial])}"
                )
        out.append(self.summary())
        return "\n".join(out)

    def summary(self) -> str:
        if not self.finished:
            return "finished: no trial yet"
        counts = Counter(t["status"] for t in self.finished.values())
        text = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        scored = [t for t in self.finished.values() if _finite(t.get("val_score"))]
        line = f"finished: {len(self.finished)} trials ({text})"
        if scored:
            best = max(scored, key=lambda t: (t["val_score"], -int(t["index"])))
            line += f"; best trial {best['index']}: val {best['val_score']:.4g}"
        return line


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def check_trial(lines: list[dict], trial: int) -> None:
    """CaviarError unless ``trial`` runs now in this search (see the module docstring)."""
    state = TuneState()
    for line in lines:
        state.feed(line)
    if state.done:
        raise CaviarError("this search has finished; nothing is running")
    if state.executor != "local":
        raise CaviarError(
            f"caviar set needs a search on the local executor (this one runs its "
            f"populations on {state.executor})"
        )
    if trial in state.finished:
        t = state.finished[trial]
        raise CaviarError(f"trial {trial} has finished ({t['status']})")
    running = sorted(t for line in state.running.values() for t in line["trials"])
    if trial not in running and any(trial in seen for seen in state.seen.values()):
        raise CaviarError(f"trial {trial} has stopped (its population runs on)")
    if trial not in running:
        shown = ", ".join(map(str, running[:20])) + (" ..." if len(running) > 20 else "")
        raise CaviarError(f"trial {trial} is not running (running: {shown or 'none yet'})")
    if not state.rows[trial]["alive"]:
        raise CaviarError(f"trial {trial} has stopped")
