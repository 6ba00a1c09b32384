"""The ``caviar`` command line: ``caviar train``, ``caviar predict``."""

from caviar.cli.main import main

__all__ = ["main"]
