"""``caviar report RUN_DIR`` reports that run's own study: from another working directory,
after the run directory moved, and for a copy of a run whose original went on."""

import json
import shutil
import sys
from pathlib import Path

from caviar.cli import main
from caviar.report import load_run

sys.path.insert(0, str(Path(__file__).parents[1] / "tuning"))
from tune_helpers import iris_config, write_toml  # noqa: E402


def tune_run(tmp_path, monkeypatch, trials=2):
    cfg = iris_config(trials=trials)
    cfg["train"]["epochs"] = 2
    path = write_toml(tmp_path / "t.toml", cfg)
    monkeypatch.chdir(tmp_path)
    assert main(["tune", "t.toml", "-o", "runs/x", "-q"]) == 0  # a relative run directory
    return path, tmp_path / "runs" / "x"


def test_summary_storage_is_absolute_and_report_works_elsewhere(tmp_path, monkeypatch, capsys):
    _, run = tune_run(tmp_path, monkeypatch)
    url = json.loads((run / "summary.json").read_text())["storage"]
    assert url == f"sqlite:///{(run / 'study.db').resolve()}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["report", str(run), "-o", str(tmp_path / "a.html")]) == 0
    moved = tmp_path / "moved"
    shutil.move(run, moved)
    assert main(["report", str(moved), "-o", str(tmp_path / "b.html")]) == 0
    assert len(load_run(moved).trials) == 2


def test_a_copied_run_reports_its_own_study(tmp_path, monkeypatch, capsys):
    cfg, run = tune_run(tmp_path, monkeypatch)
    copy = tmp_path / "copy"
    shutil.copytree(run, copy)
    # the original goes on to 4 trials; the copy still holds its 2
    assert main(["tune", str(cfg), "-o", str(run), "-q", "--resume", "--trials", "4"]) == 0
    assert len(load_run(run).trials) == 4
    assert len(load_run(copy).trials) == 2
    # a copy without its study.db is refused: its summary names the original's study,
    # which is another run's and is not read through that absolute path
    bare = tmp_path / "bare"
    shutil.copytree(run, bare, ignore=shutil.ignore_patterns("study.db*"))
    capsys.readouterr()
    assert main(["report", str(bare), "-o", str(tmp_path / "bare.html")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no study.db (copied without it?)" in err
    assert not (tmp_path / "bare.html").exists()
