"""``caviar completion bash|zsh``: print a shell completion script for ``caviar``.

The script is generated from the parser itself (shtab), so it completes every command
and flag of this version. Install it once, e.g. for bash
``caviar completion bash > ~/.local/share/bash-completion/completions/caviar`` and for
zsh ``caviar completion zsh > ~/.zfunc/_caviar`` (with ``~/.zfunc`` in ``fpath``).
"""

from __future__ import annotations

import argparse
import sys

SHELLS = ("bash", "zsh")


def add_parser(sub: argparse._SubParsersAction, root: argparse.ArgumentParser) -> None:
    """Add ``completion`` to ``sub``; ``root`` is the whole ``caviar`` parser it completes."""
    p = sub.add_parser(
        "completion",
        help="print a shell completion script (bash or zsh)",
        description=__doc__.splitlines()[0],
    )
    p.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    p.set_defaults(func=run, root_parser=root)


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script of ``parser`` (the ``caviar`` command) for ``shell``."""
    import shtab

    return shtab.complete(parser, shell=shell)


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(completion_script(args.root_parser, args.shell))
    return 0
