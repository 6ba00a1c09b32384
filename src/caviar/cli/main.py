"""Entry point: parse arguments, dispatch, and turn user errors into one line.

Every :class:`~caviar.errors.CaviarError` (bad file, config, flag or data) is
printed as ``error: <message>`` on stderr with exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from caviar.cli.signals import Terminated, cli_signals_and_warnings
from caviar.errors import CaviarError
from caviar.version import __version__


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)

    def format_help(self) -> str:
        """Help in plain text: the modules' docstrings mark code as ````x````."""
        return super().format_help().replace("``", "")


def build_parser() -> argparse.ArgumentParser:
    from caviar.cli import (
        completion_cmd,
        dashboard_cmd,
        diagnose_cmd,
        export_cmd,
        predict_cmd,
        report_cmd,
        train_cmd,
        tune_cmd,
        watch_cmd,
    )

    parser = _Parser(prog="caviar", description="Train and tune populations of neural networks.")
    parser.add_argument("--version", action="version", version=f"caviar {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train_cmd.add_parser(sub)
    predict_cmd.add_parser(sub)
    export_cmd.add_parser(sub)
    tune_cmd.add_parser(sub)
    diagnose_cmd.add_parser(sub)
    report_cmd.add_parser(sub)
    dashboard_cmd.add_parser(sub)
    watch_cmd.add_parser(sub)  # watch, set (panda mode)
    completion_cmd.add_parser(sub, parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``caviar`` command line with ``argv`` (default ``sys.argv[1:]``); return
    its exit status (0 ok, 2 a user error, 130 interrupted, 143 terminated)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with cli_signals_and_warnings():
            return int(args.func(args) or 0)
    except CaviarError as e:
        sys.stderr.write(f"error: {e}\n")
        return 2
    except OSError as e:  # disk full, permission denied, ...: one line, no traceback
        where = f"{e.filename}: " if e.filename else ""
        sys.stderr.write(f"error: {where}{e.strerror or e}\n")
        return 1
    except Terminated:
        sys.stderr.write("terminated\n")
        return 143
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
