"""The one exception type users see.

Every problem with user input (files, configs, CLI flags, data) raises
:class:`CaviarError` with a one-line message that names the problem. The CLI
prints ``error: <message>`` and exits with status 2, never a traceback.
"""


class CaviarError(Exception):
    """A user-facing error: bad input, with a one-line message naming the problem."""


class CaviarWarning(UserWarning):
    """Something a user should know that does not stop the run (the CLI prints it as one
    ``warning: <message>`` line)."""


__all__ = ["CaviarError", "CaviarWarning"]
