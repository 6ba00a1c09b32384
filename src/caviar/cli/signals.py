"""What a CLI user sees besides results: Python warnings as one line, SIGTERM as Ctrl-C.

* Every warning that reaches the user (caviar's own :class:`~caviar.errors.CaviarWarning`
  or a library's) prints as one line ``warning: <first line of the message>`` on
  stderr, without the file, line number and source line Python shows.
* ``SIGTERM`` (``kill PID``, a job scheduler stopping the run) raises
  :class:`Terminated`, a :class:`KeyboardInterrupt`, so it stops a run exactly as
  Ctrl-C does (populations stop after their epoch, nothing partial is written) and
  the command exits with status 143 (128 + 15) after one line ``terminated``.
"""

from __future__ import annotations

import signal
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """The process received SIGTERM."""


def _one_line(message, category, filename, lineno, line=None) -> str:
    """``warnings.formatwarning`` for CLI users (whoever shows or records warnings, e.g.
    ``pytest.warns``, still gets them)."""
    text = str(message).strip().splitlines()
    first = text[0] if text else category.__name__
    return f"warning: {first}\n"


def _terminate(signum, frame) -> None:
    raise Terminated()


@contextmanager
def cli_signals_and_warnings() -> Iterator[None]:
    """Install the one-line warning format and the SIGTERM handler for one command."""
    old_format = warnings.formatwarning
    old_term = None
    warnings.formatwarning = _one_line
    try:
        old_term = signal.signal(signal.SIGTERM, _terminate)
    except ValueError:  # not the main thread (e.g. called from a test's worker thread)
        old_term = None
    try:
        yield
    finally:
        warnings.formatwarning = old_format
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
