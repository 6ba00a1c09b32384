"""``caviar completion bash|zsh``: a completion script naming every command and flag."""

from __future__ import annotations

import subprocess
import sys

import pytest

from caviar.cli.main import build_parser


def commands_and_flags() -> tuple[list[str], list[str]]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    commands = list(sub.choices)
    flags = sorted(
        {
            o
            for p in sub.choices.values()
            for a in p._actions
            for o in a.option_strings
            if o.startswith("--")
        }
    )
    return commands, flags


@pytest.mark.parametrize("shell", ["bash", "zsh"])
def test_completion_script_names_every_command_and_flag(shell):
    out = subprocess.run(
        [sys.executable, "-m", "caviar", "completion", shell],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    commands, flags = commands_and_flags()
    assert {"train", "tune", "predict", "completion"} <= set(commands)
    missing = [c for c in commands + flags if c not in out.stdout]
    assert not missing, missing


def test_unknown_shell_is_one_line_error():
    out = subprocess.run(
        [sys.executable, "-m", "caviar", "completion", "fish"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("error:")
    assert "fish" in out.stderr and not out.stdout
