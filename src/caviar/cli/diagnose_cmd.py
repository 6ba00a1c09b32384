"""``caviar diagnose CONFIG.toml``: check gradients, conditioning and training health.

For each configuration the file lists: gradient check, Hessian condition number,
per-layer gradient norms, learning-rate range test, naive baseline and verdict.
Prints tables (or ``--json``) and writes, all or nothing, ``report.json`` and PNG
plots into the output directory.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from caviar.atomic import atomic_directory
from caviar.cli.output import stderr_console
from caviar.errors import CaviarError
from caviar.run_dir import MARKER, check_new_output, marker
from caviar.serialize import dumps


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "diagnose",
        help="gradient check, conditioning, gradient norms and lr range test",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("config", help="TOML configuration file")
    p.add_argument("-o", "--out", help="output directory (default: runs/diagnose-<config name>)")
    p.add_argument("--epochs", type=int, default=20, help="epochs of the gradient-norm run")
    p.add_argument("--lr-steps", type=int, default=100, help="steps of the lr range test")
    p.add_argument("--json", action="store_true", help="print the JSON report on stdout")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing -o (refused without it), once the new report is written",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from caviar.api import load_data_for
    from caviar.config import load_configs
    from caviar.diagnose.report import diagnose, render_text, write_plots

    if args.epochs < 1 or args.lr_steps < 3:
        raise CaviarError("--epochs must be >= 1 and --lr-steps >= 3")
    out = Path(args.out) if args.out else Path("runs") / f"diagnose-{Path(args.config).stem}"
    replacing = check_new_output(out, overwrite=args.overwrite)
    configs = load_configs(args.config)
    data = load_data_for(configs)
    if replacing:
        sys.stderr.write(f"note: {replacing}\n")
    reports = []
    for i, cfg in enumerate(configs):
        stderr_console.print(f"diagnosing configuration {i + 1}/{len(configs)}")
        reports.append(diagnose(cfg, data, epochs=args.epochs, lr_steps=args.lr_steps))
    with atomic_directory(out, replace=args.overwrite) as tmp:
        (tmp / MARKER).write_text(marker("diagnose", config=str(Path(args.config).resolve())))
        (tmp / "report.json").write_text(dumps({"reports": reports}) + "\n")
        for i, report in enumerate(reports):
            write_plots(report, tmp, prefix=f"config{i}_")
    if args.json:
        sys.stdout.write(dumps({"reports": reports, "out": str(out)}) + "\n")
    else:
        console = Console()
        for report in reports:
            render_text(report, console)
        console.print(f"report and plots written to {out}")
    return 0
