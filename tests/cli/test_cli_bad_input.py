"""Bad configs and data get one clear line (error: exit 2, nothing written; or one
warning: line), for every command: train, tune, predict, report, diagnose."""

import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from caviar.cli import main
from caviar.errors import CaviarError

sys.path.insert(0, str(Path(__file__).parents[1] / "tuning"))
from tune_helpers import iris_config, write_toml  # noqa: E402

TRAIN = """
[data]
source = "{source}"
{data}
[model]
hidden = [4]
[optimizer]
name = "adam"
lr = 0.01
[train]
epochs = {epochs}
batch_size = 32
{train}
"""


def cfg(tmp_path, source="iris", data="", train="", epochs=3, name="c"):
    path = tmp_path / f"{name}.toml"
    path.write_text(TRAIN.format(source=source, data=data, train=train, epochs=epochs))
    return path


def tune_cfg(tmp_path, name="t", **search):
    c = iris_config(**{"trials": 2, **search})
    c["train"]["epochs"] = 2
    return c, write_toml(tmp_path / f"{name}.toml", c)


def one_line(text: str, prefix: str = "error: ") -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), text
    return lines[0]


def fails(capsys, argv, needle, out=None):
    assert main(argv) == 2
    line = one_line(capsys.readouterr().err)
    assert needle in line, line
    if out is not None:
        assert not Path(out).exists()
    return line


# -- train -------------------------------------------------------------------------------
def test_train_unknown_device(tmp_path, capsys):
    out = tmp_path / "run"
    path = cfg(tmp_path, train='device = "tpu9"')
    fails(capsys, ["train", str(path), "-o", str(out)], "train.device: unknown device 'tpu9'", out)


def test_train_duplicate_csv_columns_are_refused(tmp_path, capsys):
    csv = tmp_path / "d.csv"
    csv.write_text(
        "a,b,target,target\n" + "".join(f"{i},{i % 3},{i % 2},{i % 2}\n" for i in range(40))
    )
    out = tmp_path / "run"
    path = cfg(tmp_path, source=str(csv), data='target = "target"')
    fails(capsys, ["train", str(path), "-o", str(out)], "duplicate column names: 'target'", out)
    # caviar predict on such a file too
    model = tmp_path / "m"
    ok = cfg(tmp_path, name="ok")
    assert main(["train", str(ok), "-o", str(model), "-q"]) == 0
    capsys.readouterr()
    fails(capsys, ["predict", str(model / "model"), str(csv)], "duplicate column names")


def test_continuous_target_as_classification_is_refused(tmp_path, capsys):
    rng = np.random.default_rng(0)
    csv = tmp_path / "c.csv"
    x = rng.normal(size=150)
    pd.DataFrame({"x": x, "y": 2 * x + rng.normal(size=150)}).to_csv(csv, index=False)
    out = tmp_path / "run"
    path = cfg(tmp_path, source=str(csv), data='target = "y"\ntask = "classification"')
    fails(capsys, ["train", str(path), "-o", str(out)], "target 'y' is continuous", out)
    ids = tmp_path / "ids.csv"
    pd.DataFrame({"x": x, "y": np.arange(150)}).to_csv(ids, index=False)
    path = cfg(tmp_path, source=str(ids), data='target = "y"\ntask = "classification"')
    fails(capsys, ["train", str(path), "-o", str(out)], "a different value in each of its", out)


def cli(*args, cwd):
    """The real command in its own process (pytest records warnings in-process)."""
    import subprocess

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run(
        [sys.executable, "-m", "caviar.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def warning_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning: ")]


def test_tiny_validation_split_is_one_warning_line(tmp_path):
    path = cfg(tmp_path, data="val_fraction = 0.001")
    proc = cli("train", str(path), "-o", str(tmp_path / "run"), "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    warns = warning_lines(proc.stderr)
    assert warns and "the validation split has only 1 row" in warns[0], proc.stderr
    # no file, line number or source line of the warning
    assert ".py:" not in proc.stderr and "warnings.warn" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("cmd", ["train", "tune"])
def test_negative_top_is_a_usage_error(tmp_path, capsys, cmd):
    path = cfg(tmp_path) if cmd == "train" else tune_cfg(tmp_path)[1]
    with pytest.raises(SystemExit) as e:
        main([cmd, str(path), "-o", str(tmp_path / "run"), "--top", "-3"])
    assert e.value.code == 2
    assert "--top: must be at least 1, got -3" in one_line(capsys.readouterr().err)
    assert not (tmp_path / "run").exists()


def test_sigterm_stops_like_ctrl_c_and_writes_nothing(tmp_path, capsys):
    """SIGTERM (kill PID, a scheduler) arriving mid-training: exit 143 after one line."""
    import threading

    from caviar.cli.signals import cli_signals_and_warnings

    path = cfg(tmp_path, source="digits", epochs=100000, train="patience = 100000")
    out = tmp_path / "run"
    with cli_signals_and_warnings():  # the CLI's handler, to recognise it from the thread
        handler = signal.getsignal(signal.SIGTERM)
    done = threading.Event()

    def terminate_once_the_handler_is_in():
        """Signal only while the CLI's handler is installed: a SIGTERM before or after it
        would end this process (a pytest-xdist worker), not the command."""
        deadline = time.monotonic() + 600
        while not done.is_set() and time.monotonic() < deadline:
            if signal.getsignal(signal.SIGTERM) is handler:
                time.sleep(1.0)  # let training get under way
                if not done.is_set() and signal.getsignal(signal.SIGTERM) is handler:
                    os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.01)

    sender = threading.Thread(target=terminate_once_the_handler_is_in, daemon=True)
    sender.start()
    try:
        code = main(["train", str(path), "-o", str(out), "-q"])
    finally:
        done.set()
        sender.join()
    assert code == 143
    assert capsys.readouterr().err.strip().splitlines()[-1] == "terminated"
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL  # restored after the command


# -- tune --------------------------------------------------------------------------------
def test_tune_unknown_device_in_the_space_is_refused_up_front(tmp_path, capsys):
    c, _ = tune_cfg(tmp_path)
    c["search"]["space"]["train.device"] = {"choice": ["cpu", "tpu9"]}
    path = write_toml(tmp_path / "d.toml", c)
    out = tmp_path / "run"
    fails(capsys, ["tune", str(path), "-o", str(out)], "train.device' = 'tpu9'", out)


def test_tune_with_a_huge_trial_budget_suggests_in_bounded_rounds(tmp_path, capsys):
    from caviar.tuning.settings import parse_settings
    from caviar.tuning.strategies import MAX_ROUND, batch_size

    # the largest budget accepted (10^7; beyond it a budget is a typo, refused)
    assert batch_size(parse_settings({"trials": 10**7})) == MAX_ROUND
    assert batch_size(parse_settings({"trials": 10**7, "batch": 10**12})) == MAX_ROUND
    with pytest.raises(CaviarError, match="search: trials: Input should be less than"):
        parse_settings({"trials": 10**12})
    c, _ = tune_cfg(tmp_path, trials=10**7, time_budget=1.0)
    c["search"]["space"] = {"optimizer.lr": {"log_uniform": [1e-3, 1e-1]}}
    c["search"]["max_population"] = 8
    path = write_toml(tmp_path / "big.toml", c)
    start = time.perf_counter()
    assert main(["tune", str(path), "-o", str(tmp_path / "run"), "-q", "--json"]) == 0
    assert time.perf_counter() - start < 120  # a 4096-config round, then the budget stops
    summary = json.loads(capsys.readouterr().out)
    assert 1 <= summary["n_trials"] <= MAX_ROUND


def test_tune_without_a_test_split_works_like_train(tmp_path, capsys):
    c, _ = tune_cfg(tmp_path)
    c["data"]["test_fraction"] = 0.0
    path = write_toml(tmp_path / "t.toml", c)
    out = tmp_path / "run"
    assert main(["tune", str(path), "-o", str(out), "-q", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert math.isnan(summary["test_score"]) if summary["test_score"] is not None else True
    assert summary["baseline"]["test_score"] is None or math.isnan(
        summary["baseline"]["test_score"]
    )
    assert (out / "model" / "model.json").is_file()
    assert (
        main(
            [
                "train",
                str(cfg(tmp_path, data="test_fraction = 0.0")),
                "-o",
                str(tmp_path / "tr"),
                "--json",
            ]
        )
        == 0
    )
    train_summary = json.loads(capsys.readouterr().out)
    assert train_summary["test_score"] is None or math.isnan(train_summary["test_score"])


def test_resume_without_a_study_says_so(tmp_path):
    _, path = tune_cfg(tmp_path)
    proc = cli("tune", str(path), "-o", str(tmp_path / "run"), "-q", "--resume", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    warns = [w for w in warning_lines(proc.stderr) if "--resume" in w]
    assert len(warns) == 1 and "--resume: no study 't'" in warns[0], proc.stderr
    assert "started a new one" in warns[0]


def test_tune_bad_inputs(tmp_path, capsys):
    out = tmp_path / "run"
    fails(capsys, ["tune", str(tmp_path / "none.toml"), "-o", str(out)], "not found", out)
    fails(capsys, ["tune", str(cfg(tmp_path)), "-o", str(out)], "[search]", out)
    c, _ = tune_cfg(tmp_path)
    c["data"]["source"] = "nosuchdata"
    fails(
        capsys,
        ["tune", str(write_toml(tmp_path / "x.toml", c)), "-o", str(out)],
        "unknown dataset",
        out,
    )


# -- predict, report, diagnose -----------------------------------------------------------
def test_predict_bad_inputs(tmp_path, capsys):
    model = tmp_path / "m"
    assert main(["train", str(cfg(tmp_path)), "-o", str(model), "-q"]) == 0
    capsys.readouterr()
    wrong = tmp_path / "wrong.csv"
    pd.DataFrame({"a": [1.0, 2.0]}).to_csv(wrong, index=False)
    fails(capsys, ["predict", str(model / "model"), str(wrong)], "missing feature columns")
    fails(
        capsys, ["predict", str(model / "model"), str(tmp_path / "no.csv")], "data file not found"
    )
    fails(capsys, ["predict", str(model / "model"), "iris", "--mc-samples", "0"], "--mc-samples")
    fails(capsys, ["predict", str(model), "iris"], "not a caviar model directory")


def test_report_bad_inputs(tmp_path, capsys):
    fails(capsys, ["report", str(tmp_path / "absent")], "no such directory")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.txt").write_text("x")
    fails(capsys, ["report", str(tmp_path / "junk")], "is not a caviar run directory")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "summary.json").write_text("{oops")
    fails(capsys, ["report", str(tmp_path / "broken")], "cannot read JSON")


def test_diagnose_bad_inputs(tmp_path, capsys):
    out = tmp_path / "d"
    fails(capsys, ["diagnose", str(tmp_path / "none.toml"), "-o", str(out)], "not found", out)
    path = cfg(tmp_path, train='device = "tpu9"')
    fails(capsys, ["diagnose", str(path), "-o", str(out)], "unknown device 'tpu9'", out)
    fails(
        capsys, ["diagnose", str(cfg(tmp_path)), "-o", str(out), "--epochs", "0"], "--epochs", out
    )
