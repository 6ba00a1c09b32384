"""The CLI answers at once: help and usage errors import no engine (torch, pandas,
optuna, scikit-learn, the API); help is plain text; tables piped to a file are whole."""

import os
import subprocess
import sys
from typing import get_args

import pytest

from caviar.cli.main import build_parser, main
from caviar.cli.tune_cmd import STRATEGIES
from caviar.tuning.settings import SearchSettings

HEAVY = ("torch", "pandas", "numpy", "optuna", "sklearn", "caviar.api", "caviar.tuning")
PROBE = """
import sys
from caviar.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("LOADED", sorted(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


def _probe(*argv):
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv],
        capture_output=True,
        text=True,
        env=os.environ.copy(),  # keeps PYTHONPATH: this checkout's sources
        timeout=120,
    )
    loaded = [line for line in proc.stderr.splitlines() if line.startswith("LOADED")]
    return proc, loaded[-1]


@pytest.mark.parametrize(
    "argv",
    [
        ["--help"],
        ["tune", "--help"],
        ["train", "--help"],
        ["predict", "--help"],
        ["diagnose", "--help"],
        ["report", "--help"],
        ["tune", "x.toml", "--no-such-flag"],
        ["tune", "x.toml", "--strategy", "bogus"],
    ],
)
def test_help_and_usage_errors_import_no_engine(argv):
    proc, loaded = _probe(*argv)
    assert loaded == "LOADED []"
    if "--help" not in argv:
        errors = [x for x in proc.stderr.splitlines() if not x.startswith("LOADED")]
        assert len(errors) == 1 and errors[0].startswith("error: ")


def test_help_is_plain_text_and_lists_the_strategies(capsys):
    for argv in (["--help"], ["tune", "--help"], ["train", "--help"], ["predict", "--help"]):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
        text = capsys.readouterr().out
        assert "``" not in text and text.strip()
    with pytest.raises(SystemExit):
        main(["tune", "--help"])
    assert "{grid,random,coarse_to_fine,tpe,gp,cmaes,qmc,nsga2,nsga3}" in capsys.readouterr().out
    assert STRATEGIES == get_args(SearchSettings.model_fields["strategy"].annotation)


def test_a_bad_strategy_is_a_one_line_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["tune", "x.toml", "--strategy", "bogus"])
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid choice: 'bogus'" in err[0] and "tpe" in err[0]


def test_piped_leaderboard_is_not_cut_at_80_columns(tmp_path):
    """Many varied fields make the table wider than 80 columns: piped, every header and
    every value is whole (rich crops to 80 columns off a terminal by default)."""
    cfg = tmp_path / "wide.toml"
    cfg.write_text(
        '[data]\nsource = "iris"\n[model]\nhidden = [4]\ninit_scale = [0.05, 0.1]\n'
        'dropout = [0.0, 0.1]\n[optimizer]\nname = "adam"\nlr = [0.01, 0.02]\n'
        "weight_decay = [0.0, 0.001]\n[penalty]\nl2_kernel = [0.0, 0.0001]\n"
        "[train]\nepochs = 2\nbatch_size = 32\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", "from caviar.cli.main import main; raise SystemExit(main())",
         "train", str(cfg), "-o", str(tmp_path / "run"), "-q", "--top", "32"],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "80"}, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if " id " in f" {line} " and "val" in line)
    assert len(header) > 80
    for name in ("init_scale", "dropout", "lr", "wd", "l2_kernel", "status", "val", "train"):
        assert f" {name}" in header
    assert "…" not in proc.stdout
