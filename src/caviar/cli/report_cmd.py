"""``caviar report RUN_DIR``: one self-contained HTML report of a run.

Works on a ``caviar tune`` run (its Optuna study), a ``caviar train`` run
(leaderboard.csv, history.csv) or a ``caviar diagnose`` output; the file is
written all or nothing (default ``RUN_DIR/report.html``, which a new report of the
same run replaces; an existing file named by ``-o`` is refused without ``--overwrite``).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write an HTML report of a tune, train or diagnose run",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("run_dir", help="run directory of caviar tune, train or diagnose")
    p.add_argument("-o", "--out", help="output HTML file (default: RUN_DIR/report.html)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing -o file")
    p.add_argument("--study", help="study name when the storage holds several")
    p.add_argument("--diagnose", help="a caviar diagnose output directory to include")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from caviar.report import make_report
    from caviar.run_dir import check_output_file

    replacing = check_output_file(args.out, overwrite=args.overwrite)
    out = make_report(
        args.run_dir,
        Path(args.out) if args.out else None,
        study_name=args.study,
        diagnose_dir=args.diagnose,
    )
    if replacing:
        print(f"note: {replacing}")
    print(f"report written to {out}")
    return 0
