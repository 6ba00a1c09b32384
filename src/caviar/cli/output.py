"""Shared output helpers for CLI commands."""

from __future__ import annotations

from rich.console import Console

stderr_console = Console(stderr=True)

#: width of tables written to a file or a pipe (no terminal to fit): wide enough that
#: no column is cut or wrapped (rich's default off a terminal is 80 columns)
PIPE_WIDTH = 1000


def table_console() -> Console:
    """A console for tables on stdout: the terminal's width, or :data:`PIPE_WIDTH` when
    stdout is a file or a pipe (a table is as wide as its columns, never padded)."""
    console = Console()
    return console if console.is_terminal else Console(width=PIPE_WIDTH)


def top_rows(text: str) -> int:
    """``--top N``: a count of leaderboard rows, at least 1 (argparse type)."""
    import argparse

    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of rows, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n
