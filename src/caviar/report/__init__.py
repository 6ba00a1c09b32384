"""``caviar report``: one self-contained HTML report of a tune, train or diagnose run.

``data`` loads the run into frames, ``figures`` draws one plotly figure per
section, ``html`` assembles and writes the file (plotly.js inlined, works offline).
"""

from __future__ import annotations

import sys
from pathlib import Path

from caviar.report.data import RunData, load_run
from caviar.report.html import build_html, write_report

__all__ = [
    "RunData",
    "build_html",
    "load_run",
    "make_report",
    "report_after_run",
    "report_after_tune",
]


def make_report(
    run_dir: str | Path,
    out: str | Path | None = None,
    *,
    study_name: str | None = None,
    diagnose_dir: str | Path | None = None,
) -> Path:
    """Load ``run_dir`` and write its report (default ``RUN_DIR/report.html``)."""
    run = load_run(run_dir, study_name=study_name, diagnose_dir=diagnose_dir)
    return write_report(run, out if out is not None else Path(run_dir) / "report.html")


def report_after_run(run_dir: str | Path, study_name: str | None = None) -> Path | None:
    """The report at the end of ``caviar tune`` and ``caviar train``: a failure is a
    warning on stderr, never an error (the run's other outputs are already written)."""
    try:
        return make_report(run_dir, study_name=study_name)
    except Exception as e:  # noqa: BLE001 - the tune results must survive any report bug
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        sys.stderr.write(f"warning: report.html not written: {first}\n")
        return None


report_after_tune = report_after_run  # the name ``caviar.tune.output`` used first
