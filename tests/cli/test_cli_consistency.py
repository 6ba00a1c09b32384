"""One convention between commands: best_epoch is the 1-based epoch in the train and
tune leaderboards and the report (empty for a member that never had a best epoch), and
the files of a run get the usual permissions (0644 files, 0755 directories)."""

import json
import os
import stat
import sys
from pathlib import Path

import pandas as pd
import pytest

from caviar.cli import main
from caviar.report import load_run

sys.path.insert(0, str(Path(__file__).parents[1] / "tuning"))
from tune_helpers import write_toml  # noqa: E402

BASE = {
    "data": {"source": "iris", "seed": 0},
    "model": {"hidden": [8]},
    "optimizer": {"name": "sgd", "lr": 0.05},
    "train": {"epochs": 12, "batch_size": 16, "patience": 3},
}


def runs(tmp_path, lrs):
    """The same configurations through `caviar train` and `caviar tune`: the leaderboard
    rows of each, by learning rate."""
    train_cfg = {**BASE, "optimizer": {"name": "sgd", "lr": lrs}}
    tune_cfg = {
        **BASE,
        "search": {"strategy": "grid", "space": {"optimizer.lr": {"choice": lrs}}},
    }
    a = write_toml(tmp_path / "a.toml", train_cfg)
    b = write_toml(tmp_path / "b.toml", tune_cfg)
    assert main(["train", str(a), "-o", str(tmp_path / "tr"), "-q"]) == 0
    assert main(["tune", str(b), "-o", str(tmp_path / "tu"), "-q"]) == 0
    boards = []
    for run in ("tr", "tu"):
        board = pd.read_csv(tmp_path / run / "leaderboard.csv")
        if "optimizer.lr" not in board:
            board["optimizer.lr"] = lrs[0]
        boards.append({lr: board[board["optimizer.lr"] == lr].iloc[0] for lr in lrs})
    return boards


def test_best_epoch_is_the_same_in_train_tune_and_report(tmp_path):
    train, tune = runs(tmp_path, [0.05])
    tr, tu = train[0.05], tune[0.05]
    assert tr["val_score"] == tu["val_score"]  # one trajectory
    assert tr["best_epoch"] == tu["best_epoch"] >= 1
    history = pd.read_csv(tmp_path / "tr" / "history.csv")
    best_row = history.loc[history["val_loss"].idxmin()]  # the 1-based epoch of history.csv
    assert tr["best_epoch"] == best_row["epoch"]
    assert load_run(tmp_path / "tu").trials["best_epoch"].iloc[0] == tr["best_epoch"]
    assert load_run(tmp_path / "tr").trials["best_epoch"].iloc[0] == tr["best_epoch"]


def test_a_member_diverged_at_once_has_no_best_epoch_anywhere(tmp_path):
    train, tune = runs(tmp_path, [0.05, 1e30])
    tr, tu = train[1e30], tune[1e30]
    assert tr["status"] == tu["status"] == "diverged"
    assert pd.isna(tr["best_epoch"]) and pd.isna(tu["best_epoch"])
    assert train[0.05]["best_epoch"] == tune[0.05]["best_epoch"]


@pytest.mark.parametrize("cmd", ["train", "tune", "diagnose", "predict"])
def test_run_files_are_0644_and_directories_0755(tmp_path, cmd):
    old = os.umask(0o022)
    try:
        cfg = write_toml(
            tmp_path / "c.toml",
            {**BASE, "search": {"strategy": "grid", "space": {"optimizer.lr": {"choice": [0.05]}}}}
            if cmd == "tune"
            else BASE,
        )
        out = tmp_path / "run"
        if cmd == "predict":
            assert main(["train", str(cfg), "-o", str(out), "-q"]) == 0
            pred = tmp_path / "p.csv"
            assert main(["predict", str(out / "model"), "iris", "-o", str(pred)]) == 0
            paths = [pred]
        else:
            extra = ["--epochs", "1", "--lr-steps", "3"] if cmd == "diagnose" else ["-q"]
            assert main([cmd, str(cfg), "-o", str(out), *extra]) == 0
            paths = [out, *out.rglob("*")]
        modes = {
            str(p): oct(stat.S_IMODE(p.stat().st_mode))
            for p in paths
            if not p.name.endswith(".lock")
        }
        want = {str(p): "0o755" if p.is_dir() else "0o644" for p in paths if str(p) in modes}
        assert modes == want
    finally:
        os.umask(old)


def test_run_json_names_the_kind(tmp_path):
    cfg = write_toml(tmp_path / "c.toml", BASE)
    assert main(["train", str(cfg), "-o", str(tmp_path / "r"), "-q"]) == 0
    info = json.loads((tmp_path / "r" / "run.json").read_text())
    assert info["kind"] == "train" and info["config"] == str(cfg.resolve())
