"""Shared output helpers for CLI commands."""

from __future__ import annotations

from rich.console import Console

stderr_console = Console(stderr=True)


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
