"""``caviar dashboard RUN_DIR``: optuna-dashboard on a tune run's own study.

It serves the run's storage (``RUN_DIR/study.db`` as ``sqlite:///`` with its absolute
path, which optuna-dashboard wants for an SQLite file, or the server URL the run saved
in ``summary.json``) until Ctrl-C. optuna-dashboard is in the ``dev`` extra
(``pip install optuna-dashboard`` otherwise). ``--print-url`` only prints the storage
URL, for ``optuna-dashboard URL`` or ``optuna.load_study(storage=URL)``.
"""

from __future__ import annotations

import argparse
import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from caviar.errors import CaviarError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "dashboard",
        help="serve a tune run's study in optuna-dashboard",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("run_dir", help="run directory of caviar tune")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (8080)")
    p.add_argument("--print-url", action="store_true", help="print the storage URL and exit")
    p.set_defaults(func=run)


def storage_url(run_dir: Path) -> str:
    """The run's study storage; one-line error for anything that is no tune run."""
    from caviar.run_dir import study_storage_url

    if not run_dir.is_dir():
        raise CaviarError(f"{run_dir}: no such run directory")
    summary: dict = {}
    if (run_dir / "summary.json").exists():
        try:
            summary = json.loads((run_dir / "summary.json").read_text())
        except (OSError, ValueError) as e:
            raise CaviarError(f"{run_dir / 'summary.json'}: not readable JSON ({e})") from None
    url = study_storage_url(run_dir, summary if isinstance(summary, dict) else {})
    if url is None:
        raise CaviarError(f"{run_dir} holds no study (a caviar tune run has study.db)")
    return url


def run(args: argparse.Namespace) -> int:
    url = storage_url(Path(args.run_dir))
    if args.print_url:
        print(url)
        return 0
    if not 0 < args.port < 65536:
        raise CaviarError(f"--port must be in 1..65535, got {args.port}")
    try:
        from optuna_dashboard import run_server
    except ImportError:
        raise CaviarError(
            "optuna-dashboard is not installed (pip install optuna-dashboard, or the dev extra)"
        ) from None
    print(f"optuna-dashboard on http://{args.host}:{args.port}/ serving {url} (Ctrl-C stops)")
    with default_sigterm():
        run_server(url, host=args.host, port=args.port)
    return 0


@contextmanager
def default_sigterm() -> Iterator[None]:
    """SIGTERM ends the read-only server at once: the CLI's own handler raises in the main
    thread, after which the process would still wait at exit for any non-daemon thread the
    server started (seen: a dashboard that outlived its SIGTERM for minutes)."""
    try:
        previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except ValueError:  # not the main thread: nothing to change
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
