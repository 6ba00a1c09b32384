"""The text ``caviar watch`` prints, for a train and for a tune run: a curve as one line
of block characters, the table of members (trials), the notes on changes."""

from __future__ import annotations

import math

BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list, width: int = 60) -> str:
    """One bar per value, scaled from the curve's minimum to its maximum (blank: None or
    not finite); a curve longer than ``width`` is shown at ``width`` evenly spaced epochs
    (the first and the last included)."""
    if len(values) > width:
        n = len(values) - 1
        values = [values[round(k * n / (width - 1))] for k in range(width)]
    finite = [v for v in values if v is not None and math.isfinite(v)]
    if not finite:
        return ""
    lo, hi = min(finite), max(finite)
    span = hi - lo or 1.0
    return "".join(
        " " if v is None or not math.isfinite(v) else BARS[int((v - lo) / span * 7)] for v in values
    )


KEYS = ("train_loss", "val_loss", "val_score", "lr", "alive")


def epoch_rows(line: dict, ids: list) -> dict:
    """``{id: numbers}`` of the members (trials) ``ids`` of one epoch's progress line."""
    out = {}
    for j, i in enumerate(ids):
        row = {k: line[k][j] for k in KEYS}
        row.update(epoch=line["epoch"], epochs=line["epochs"])
        out[i] = row
    return out


def change_note(line: dict, who: str) -> str | None:
    """The line to print for an ``applied`` / ``rejected`` progress line (None: neither);
    ``who`` is "member" or "trial", the key naming it."""
    if "applied" in line:
        c = line["applied"]
        change = f"{c['path']} {c['old']:g} -> {c['new']:g}"
        return f"{who} {c[who]}: {change} after epoch {c['epoch']}"
    if "rejected" in line:
        r = line["rejected"]
        return f"{who} {r[who]}: {r['path']} = {r['value']} rejected: {line['reason']}"
    return None


def header(who: str) -> str:
    return f"{who:>6} {'epoch':>9} {'train':>9} {'val':>9} {'score':>7} {'lr':>9}  val curve"


def row_text(i, r: dict, curve: list) -> str:
    """One table row: id, epoch (``*``: stopped), losses, score, lr, the curve."""

    def num(v):
        return "-" if v is None else f"{v:.4g}"

    ep = f"{r['epoch']}/{r['epochs']}" + ("" if r["alive"] else "*")
    return (
        f"{i:>6} {ep:>9} {num(r['train_loss']):>9} {num(r['val_loss']):>9} "
        f"{num(r['val_score']):>7} {num(r['lr']):>9}  {sparkline(curve)}"
    )
