"""``caviar train CONFIG.toml``: train the configurations a file lists.

Writes, all or nothing, a run directory holding ``model/`` (the best member:
safetensors + JSON), ``leaderboard.csv``, ``history.csv`` (every member, every
epoch), ``summary.json`` and ``diagnostics.json`` (per member: initialization checks
and per-layer gradient norms), then ``report.html`` (``caviar.report``); prints a
leaderboard (or ``--json``) and where the report is.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from caviar.cli.output import stderr_console, table_console, top_rows
from caviar.run_dir import check_new_output
from caviar.serialize import dumps

if TYPE_CHECKING:  # the engine (torch, pandas) is imported by the command, not by --help
    import pandas as pd
    from rich.console import Console


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train the configurations a TOML file lists",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("config", help="TOML configuration file (lists of values make a grid)")
    p.add_argument("-o", "--out", help="run directory (default: runs/<config name>)")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing -o (refused without it), once the new run succeeds",
    )
    p.add_argument("--top", type=top_rows, default=10, help="leaderboard rows to print")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


SHORT_FIELD = {"label_smoothing": "smooth", "weight_decay": "wd", "leaky_slope": "slope"}


def print_leaderboard(board: pd.DataFrame, top: int, score: str, console: Console) -> None:
    """The top rows with short headers: varied fields by their last name, then results."""
    from rich import box
    from rich.table import Table

    results = {
        "status": "status",
        "best_epoch": "ep",
        "val_loss": "loss",
        "val_score": "val",
        "train_score": "train",
    }
    title = f"leaderboard: val/train {score} at the best epoch (ep)"
    if "cv_std" in board:  # train.cv: val is the mean over the folds
        results = {**results, "cv_std": "± std"}
        title = f"leaderboard: val {score} = mean of the folds (train.cv), ± their std"
    fields = [c for c in board.columns if "." in c]
    headers = [
        "#",
        "id",
        *(SHORT_FIELD.get(f.rsplit(".", 1)[1], f.rsplit(".", 1)[1]) for f in fields),
        *results.values(),
    ]
    rows = [
        [row["rank"], row["member"], *(row[f] for f in fields), *(row[k] for k in results)]
        for _, row in board.head(top).iterrows()
    ]
    cells = [[f"{v:.3g}" if isinstance(v, float) else str(v) for v in r] for r in rows]
    table = Table(
        title=title,
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
    )
    for k, header in enumerate(headers):
        width = max([len(header)] + [len(r[k]) for r in cells])
        table.add_column(header, justify="right", no_wrap=True, min_width=width)
    for r in cells:
        table.add_row(*r)
    console.print(table)


def run(args: argparse.Namespace) -> int:
    from caviar.api import prepare, train
    from caviar.cli.progress import epoch_progress
    from caviar.results.outputs import train_leaderboard, write_train_outputs
    from caviar.training.live import open_live_dir
    from caviar.training.population import group_by_structure

    out = Path(args.out) if args.out else Path("runs") / Path(args.config).stem
    replacing = check_new_output(out, overwrite=args.overwrite)
    configs, data = prepare(args.config)
    if replacing:
        sys.stderr.write(f"note: {replacing}\n")
    groups = group_by_structure(configs)
    labels = [
        (f"population {i + 1}/{len(groups)} (P={len(g)})", configs[g[0]].train.epochs)
        for i, g in enumerate(groups)
    ]
    live = open_live_dir(out)  # panda mode: `caviar watch` / `caviar set` (training/live.py)
    try:
        with epoch_progress(labels, enabled=not (args.quiet or args.json)) as on_epoch:
            result = train(configs, data=data, on_epoch=on_epoch, live_dir=live, verbose=0)
        # the run directory all or nothing (an earlier one replaced only with --overwrite)
        info = write_train_outputs(
            result, out, config=args.config, overwrite=args.overwrite, live=live, report=False
        )
    finally:
        shutil.rmtree(live, ignore_errors=True)
    from caviar.report import report_after_run  # after the run directory; a failure warns

    report = report_after_run(out)
    if report is not None:
        info["report"] = str(report)
    if args.json:
        sys.stdout.write(dumps(info) + "\n")
        return 0
    console = table_console()
    score = info["score_name"]
    print_leaderboard(train_leaderboard(result), args.top, score, console)
    console.print(
        f"best member {result.best.index}: val {score} {result.best.val_score:.4f}, "
        f"test {score} {result.test_score:.4f} (test split used once, for this model)"
    )
    trees = info.get("trees") or {}
    if "verdict" in trees:
        console.print(f"trees ({trees['name']}, {trees['metric']}): {trees['verdict']} "
                      f"({trees['reason']})")  # fmt: skip
    trees = info.get("trees") or {}
    if "verdict" in trees:
        console.print(f"trees ({trees['name']}, {trees['metric']}): {trees['verdict']} "
                      f"({trees['reason']})")  # fmt: skip
    for member, texts in info["warnings"].items():
        for text in texts:
            stderr_console.print(f"[yellow]warning[/]: member {member}: {text}")
    console.print(f"saved {out / 'model'}")
    if report is not None:
        console.print(f"report: {report}", soft_wrap=True)
    stderr_console.file.flush()
    return 0
