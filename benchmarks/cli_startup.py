"""How fast the CLI answers before any training: help texts and a bad flag.

Measured side by side in one run, each command in a fresh process, ``--repeat``
times (median):

* ``caviar --help``, ``caviar tune --help``, ``caviar train --help``;
* ``caviar tune --no-such-flag`` (a usage error: one line, exit status 2);
* ``python -c pass``: the interpreter's own start, the floor no command goes below;
* ``eager imports``: a process that imports what the parser imported before the
  commands' imports were made lazy (``caviar.api``, ``caviar.tune``: torch, pandas,
  optuna, scikit-learn), the cost every command paid on the way to its help.

Prints a table, then ONE JSON line (last line): the medians, ``help_seconds`` (the
slower of ``caviar --help`` and ``caviar tune --help``; target < 1 s) and
``speedup_vs_eager_imports`` (eager imports / help_seconds). ``--quick``: 1 repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ENTRY = "from caviar.cli.main import main; raise SystemExit(main())"


def caviar_command() -> list[str]:
    """The installed ``caviar`` script beside this interpreter, else the same entry point."""
    script = Path(sys.executable).with_name("caviar")
    return [str(script)] if script.exists() else [sys.executable, "-c", ENTRY]


def commands() -> dict[str, tuple[list[str], int]]:
    """name -> (argv, expected exit status)."""
    cav = caviar_command()
    return {
        "caviar --help": ([*cav, "--help"], 0),
        "caviar tune --help": ([*cav, "tune", "--help"], 0),
        "caviar train --help": ([*cav, "train", "--help"], 0),
        "caviar tune --no-such-flag": ([*cav, "tune", "x.toml", "--no-such-flag"], 2),
        "python -c pass": ([sys.executable, "-c", "pass"], 0),
        "eager imports": ([sys.executable, "-c", "import caviar.api, caviar.tune"], 0),
    }


def time_once(argv: list[str], expected: int) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=os.environ.copy())
    seconds = time.perf_counter() - start
    if proc.returncode != expected:
        raise SystemExit(f"{' '.join(argv)}: exit {proc.returncode}, expected {expected}")
    if expected == 2 and len(proc.stderr.strip().splitlines()) != 1:
        raise SystemExit(f"{' '.join(argv)}: expected a one-line error, got {proc.stderr!r}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs per command (median)")
    parser.add_argument("--quick", action="store_true", help="one run each (smoke test)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be >= 1, got {args.repeat}")
    repeat = 1 if args.quick else args.repeat
    table = commands()
    runs: dict[str, list[float]] = {name: [] for name in table}
    for _ in range(repeat):  # interleaved: the machine's load falls on every command alike
        for name, (cmd, expected) in table.items():
            runs[name].append(time_once(cmd, expected))
    medians = {name: statistics.median(v) for name, v in runs.items()}
    for name, value in medians.items():
        print(f"{name:<30} {value:7.3f} s  (median of {repeat})")
    help_seconds = max(medians["caviar --help"], medians["caviar tune --help"])
    result = {
        "median_seconds": medians,
        "help_seconds": help_seconds,
        "bad_flag_seconds": medians["caviar tune --no-such-flag"],
        "target_seconds": 1.0,
        "speedup_vs_eager_imports": medians["eager imports"] / help_seconds,
        "over_interpreter_start": help_seconds / medians["python -c pass"],
        "repeat": repeat,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
