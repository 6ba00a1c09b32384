"""Shared output helpers for CLI commands."""

from __future__ import annotations

from rich.console import Console

stderr_console = Console(stderr=True)
