"""Panda mode on `caviar tune`: `caviar watch` follows the populations of a running search,
`caviar set --trial` changes a running trial, refusals are one line."""

import json
import os
import subprocess
import sys
import threading
import time

import pytest
from live_runs import start_live

from caviar.cli.main import main
from caviar.cli.watch_text import sparkline
from caviar.training.live import append_line, live_dir_of

CONFIG = """
[data]
source = "iris"
seed = 0
[model]
hidden = [8]
[optimizer]
name = "sgd"
[train]
epochs = 300
batch_size = 4
patience = 100000
[search]
strategy = "random"
trials = 4
seed = 0
[search.space]
"optimizer.lr" = { log_uniform = [1e-2, 1e-1] }
"""


def test_watch_and_set_on_a_running_tune(tmp_path, capsys):
    cfg = tmp_path / "iris.toml"
    cfg.write_text(CONFIG)
    out = tmp_path / "run"
    proc = start_live(["tune", str(cfg), "-q", "--json", "--workers", "1"], out, "trials")
    try:
        assert main(["set", str(out), "--trial", "2", "optimizer.lr=1e-3"]) == 0
        assert main(["set", str(out), "--trial", "9", "optimizer.lr=1e-3"]) == 2
        assert main(["set", str(out), "--trial", "2", "optimizer.lr=inf"]) == 2
        assert main(["set", str(out), "--member", "2", "optimizer.lr=1e-3"]) == 2
        assert main(["watch", str(out), "--once"]) == 0
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr.decode()
    text = capsys.readouterr()
    assert "population 0 (round 0): epoch" in text.out and "4 of 4 trials alive" in text.out
    assert "trial 9 is not running (running: 0, 1, 2, 3)" in text.err
    assert "name the trial with --trial N" in text.err
    info = json.loads(stdout)
    (change,) = info["changes"]
    assert change["trial"] == 2 and change["path"] == "optimizer.lr" and change["new"] == 1e-3
    assert 1 <= change["epoch"] < 300
    assert not live_dir_of(out).exists()  # the logs moved into the run directory
    lines = [json.loads(x) for x in (out / "live" / "progress.jsonl").read_text().splitlines()]
    assert lines[0]["start"]["kind"] == "tune" and lines[-1] == {"done": True}
    assert sum("trial" in x for x in lines) == 4  # one line per finished trial
    # finished: watch shows the end, set refuses
    assert main(["watch", str(out), "--once"]) == 0
    assert "finished: 4 trials" in capsys.readouterr().out
    assert main(["set", str(out), "--trial", "2", "optimizer.lr=1e-3"]) == 2
    assert "no running training or search" in capsys.readouterr().err


def _epoch(population, epoch, trials, alive, val):
    return {
        "population": population, "round": 0, "epoch": epoch, "epochs": 3, "trials": trials,
        "train_loss": [1.0] * len(trials), "val_loss": val, "val_score": [0.5] * len(trials),
        "lr": [0.1] * len(trials), "alive": alive,
    }  # fmt: skip


def test_watch_follows_populations_side_by_side_as_they_are_written(tmp_path, capsys):
    live = live_dir_of(tmp_path / "run")
    live.mkdir()
    path = live / "progress.jsonl"
    append_line(path, {"start": {"kind": "tune", "executor": "local", "pid": os.getpid()}})

    def write():
        for epoch in (1, 2):
            time.sleep(0.3)
            append_line(path, _epoch(0, epoch, [0, 1], [True, epoch < 2], [1.0 / epoch, 2.0]))
            append_line(path, _epoch(1, epoch, [2, 3], [True, True], [1.0, 1.5]))
        append_line(path, {"applied": {"trial": 2, "epoch": 2, "path": "optimizer.lr",
                                       "old": 0.1, "new": 0.01}, "population": 1})  # fmt: skip
        time.sleep(0.3)  # the watch prints the epoch-2 table before population 0 ends
        append_line(path, {"population_end": 0})
        for i, status in ((0, "complete"), (1, "pruned")):
            append_line(path, {"trial": {"index": i, "status": status, "val_score": 0.9 - i}})
        append_line(path, {"done": True})

    writer = threading.Thread(target=write)
    writer.start()
    assert main(["watch", str(tmp_path / "run"), "--interval", "0.05", "--timeout", "30"]) == 0
    writer.join()
    text = capsys.readouterr().out
    assert "population 0 (round 0): epoch 2/3, 1 of 2 trials alive" in text
    assert "population 1 (round 0): epoch 2/3, 2 of 2 trials alive" in text
    assert "2/3*" in text  # trial 1 stopped
    assert "trial 2: optimizer.lr 0.1 -> 0.01 after epoch 2" in text
    assert "finished: 2 trials (1 complete, 1 pruned); best trial 0: val 0.9" in text


@pytest.mark.parametrize(
    ("extra", "trial", "message"),
    [
        ([], 5, "trial 5 is not running (running: 0, 1)"),
        ([{"trial": {"index": 0, "status": "complete", "val_score": 1.0}}], 0,
         "trial 0 has finished (complete)"),
        ([_epoch(0, 2, [0], [True], [1.0])], 1, "trial 1 has stopped (its population runs on)"),
        ([_epoch(0, 2, [0, 1], [True, False], [1.0, 1.0])], 1, "trial 1 has stopped"),
        ([{"done": True}], 0, "this search has finished"),
    ],
)  # fmt: skip
def test_set_refuses_trials_that_do_not_run(tmp_path, capsys, extra, trial, message):
    live = live_dir_of(tmp_path / "run")
    live.mkdir()
    path = live / "progress.jsonl"
    append_line(path, {"start": {"kind": "tune", "executor": "local", "pid": os.getpid()}})
    append_line(path, _epoch(0, 1, [0, 1], [True, True], [1.0, 1.0]))
    for line in extra:
        append_line(path, line)
    assert main(["set", str(tmp_path / "run"), "--trial", str(trial), "optimizer.lr=0.01"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (live / "control.jsonl").exists()  # nothing queued


def test_set_refuses_a_ray_search_and_a_dead_one(tmp_path, capsys):
    live = live_dir_of(tmp_path / "run")
    live.mkdir()
    append_line(live / "progress.jsonl", {"start": {"kind": "tune", "executor": "ray"}})
    assert main(["set", str(tmp_path / "run"), "--trial", "0", "optimizer.lr=0.01"]) == 2
    assert "needs a search on the local executor" in capsys.readouterr().err
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    import socket

    owner = {"pid": int(dead.stdout), "host": socket.gethostname()}
    (live / "owner.json").write_text(json.dumps(owner))
    assert main(["set", str(tmp_path / "run"), "--trial", "0", "optimizer.lr=0.01"]) == 2
    assert "is no longer running" in capsys.readouterr().err


def test_a_live_dir_left_by_a_killed_search_is_taken_over(tmp_path):
    from caviar.tuning.live_tune import open_search_live_dir

    first = open_search_live_dir(tmp_path / "run")
    assert first is not None
    assert open_search_live_dir(tmp_path / "run") is None  # this (live) process holds it
    owner = json.loads((first / "owner.json").read_text())
    owner["pid"] = 2**22 + 12345  # no such process
    (first / "owner.json").write_text(json.dumps(owner))
    (first / "progress.jsonl").write_text('{"done": true}\n')
    again = open_search_live_dir(tmp_path / "run")
    assert again == first and (again / "progress.jsonl").read_text() == ""


def test_sparklines_of_long_curves_keep_their_width():
    line = sparkline(list(range(1000)))
    assert len(line) == 60 and line[0] == "▁" and line[-1] == "█"
    assert sparkline([1.0, None, 2.0]) == "▁ █"


def test_set_names_members_of_a_train_and_trials_of_a_tune(tmp_path, capsys):
    live = live_dir_of(tmp_path / "run")
    live.mkdir()
    append_line(live / "progress.jsonl", {"population": 0, "epoch": 1, "epochs": 3,
                "members": [0, 1], "train_loss": [1.0, 1.0], "val_loss": [1.0, 1.0],
                "val_score": [0.5, 0.5], "lr": [0.1, 0.1], "alive": [True, True]})  # fmt: skip
    assert main(["set", str(tmp_path / "run"), "--trial", "0", "optimizer.lr=0.01"]) == 2
    assert "this is a caviar train: name the member with --member M" in capsys.readouterr().err
    assert not (live / "control.jsonl").exists()
    assert main(["set", str(tmp_path / "run"), "--member", "0", "optimizer.lr=0.01"]) == 0
    assert json.loads((live / "control.jsonl").read_text()) == {
        "member": 0, "set": {"optimizer.lr": 0.01}
    }  # fmt: skip


def test_a_run_that_has_not_reported_yet(tmp_path, capsys):
    """RUN_DIR.live exists, progress.jsonl is still empty (the search loads its data)."""
    live = live_dir_of(tmp_path / "run")
    live.mkdir()
    (live / "progress.jsonl").touch()
    assert main(["watch", str(tmp_path / "run"), "--once"]) == 0
    assert "has not reported anything yet" in capsys.readouterr().out
    assert main(["set", str(tmp_path / "run"), "--trial", "0", "optimizer.lr=0.01"]) == 2
    assert "no trial runs yet" in capsys.readouterr().err
    # a watch started now takes the search's view once its first line comes

    def write():
        time.sleep(0.4)
        append_line(live / "progress.jsonl", {"start": {"kind": "tune", "executor": "local"}})
        append_line(live / "progress.jsonl", _epoch(0, 1, [0, 1], [True, True], [1.0, 1.0]))
        append_line(live / "progress.jsonl", {"done": True})

    writer = threading.Thread(target=write)
    writer.start()
    assert main(["watch", str(tmp_path / "run"), "--interval", "0.05", "--timeout", "30"]) == 0
    writer.join()
    assert "population 0 (round 0): epoch 1/3" in capsys.readouterr().out
