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

from caviar.cli.watch_text import change_note, epoch_rows, header, row_text
from caviar.errors import CaviarError


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
        elif "applied" in line or "rejected" in line:
            return change_note(line, "trial")
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
            for trial, row in epoch_rows(line, line["trials"]).items():
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
            out.append(header("trial"))
            out += [
                row_text(t, self.rows[t], self.curves[t]) for t in line["trials"] if t in self.rows
            ]
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
