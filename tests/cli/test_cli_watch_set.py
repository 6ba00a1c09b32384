"""Panda mode (:ref:`bg-caviar-approach`): `caviar watch` follows a running
`caviar train`, `caviar set` changes a member's knobs between epochs, and the recorded
changes replay the run exactly."""

import json
import time

import numpy as np
import torch
from live_runs import start_live

from caviar.api import train
from caviar.cli.main import main
from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.training.live import LiveControl, append_line, live_dir_of
from caviar.training.trainer import train_population

CONFIG = """
[data]
source = "iris"
[model]
hidden = [8]
[optimizer]
name = "sgd"
lr = [0.05, 0.1, 0.2]
[train]
epochs = 40
batch_size = 4
patience = 1000
"""


def test_live_control_applies_validates_and_records(tmp_path):
    data = prepare_data("iris", seed=0)
    configs = expand_configs(
        {"data": {"source": "iris"}, "model": {"hidden": [8]},
         "optimizer": {"name": "sgd", "lr": [0.05, 0.1]},
         "train": {"epochs": 6, "patience": None, "dtype": "float64"}}
    )  # fmt: skip
    live = tmp_path / "run.live"
    live.mkdir()
    append_line(live / "control.jsonl", {"member": 1, "set": {"optimizer.lr": 0.01}})
    append_line(live / "control.jsonl", {"member": 0, "set": {"optimizer.lr": -1.0}})
    append_line(live / "control.jsonl", {"member": 0, "set": {"model.hidden": 3}})
    control = LiveControl(live, [0, 1], 0)
    result = train_population(configs, data, callbacks=[control])
    lr = [m.history["lr"] for m in result.members]
    assert lr[0] == [0.05] * 6  # both bad commands changed nothing
    assert lr[1] == [0.1] + [0.01] * 5  # applied after epoch 1
    assert control.changes == [
        {"epoch": 1, "member": 1, "path": "optimizer.lr", "old": 0.1, "new": 0.01}
    ]
    lines = [json.loads(x) for x in (live / "progress.jsonl").read_text().splitlines()]
    rejected = [x for x in lines if "rejected" in x]
    assert len(rejected) == 2
    assert "greater than or equal to 0" in rejected[0]["reason"]
    assert "cannot change during training" in rejected[1]["reason"]
    assert sum("members" in x for x in lines) == 6
    # the member alone with the recorded change replayed: the same trajectory
    replay = train(configs, data=data, changes=control.changes)
    torch.testing.assert_close(
        replay.populations[0].model.flat, result.model.flat, rtol=1e-12, atol=1e-14
    )
    assert [m.changes for m in sorted(replay.members, key=lambda m: m.index)] == [
        [],
        control.changes,
    ]


def test_watch_and_set_on_a_running_train(tmp_path):
    cfg = tmp_path / "iris.toml"
    cfg.write_text(CONFIG)
    out = tmp_path / "run"
    proc = start_live(["train", str(cfg), "-q", "--json"], out, "members")
    try:
        assert main(["set", str(out), "--member", "2", "optimizer.lr=1e-3"]) == 0
        assert main(["set", str(out), "--member", "7", "optimizer.lr=1e-3"]) == 2
        assert main(["set", str(out), "--member", "2", "optimizer.lr=abc"]) == 2
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr.decode()
    info = json.loads(stdout)
    (change,) = info["changes"]
    assert change["member"] == 2 and change["path"] == "optimizer.lr" and change["new"] == 1e-3
    assert not live_dir_of(out).exists()  # the logs moved into the run directory
    history = np.genfromtxt(out / "history.csv", delimiter=",", names=True)
    lr2 = history["lr"][history["member"] == 2]
    e = change["epoch"]
    assert 1 <= e < 40 and len(lr2) == 40
    np.testing.assert_allclose(lr2[:e], 0.2, rtol=1e-6)  # float32 run
    np.testing.assert_allclose(lr2[e:], 1e-3, rtol=1e-6)


def test_watch_prints_curves_of_a_finished_run_and_refuses_unknown_dirs(tmp_path, capsys):
    cfg = tmp_path / "iris.toml"
    cfg.write_text(CONFIG.replace("epochs = 40", "epochs = 3"))
    out = tmp_path / "run"
    assert main(["train", str(cfg), "-o", str(out), "-q", "--json"]) == 0
    capsys.readouterr()
    assert main(["watch", str(out), "--once"]) == 0
    text = capsys.readouterr().out
    assert "member" in text and "3/3" in text
    assert len([ln for ln in text.splitlines() if "3/3" in ln]) == 3
    assert main(["watch", str(tmp_path / "nothing"), "--once"]) == 2
    assert main(["set", str(out), "--member", "0", "optimizer.lr=1e-3"]) == 2  # finished


def test_watch_follows_progress_as_it_is_written(tmp_path, capsys):
    import threading

    live = live_dir_of(tmp_path / "run")
    live.mkdir()
    (live / "progress.jsonl").touch()

    def write():
        for epoch in (1, 2):
            time.sleep(0.3)
            append_line(live / "progress.jsonl", {
                "population": 0, "epoch": epoch, "epochs": 2, "members": [0, 1],
                "train_loss": [1.0 / epoch, 2.0], "val_loss": [1.5 / epoch, None],
                "val_score": [0.5, 0.25], "lr": [0.1, 0.2], "alive": [True, epoch < 2],
            })  # fmt: skip
        append_line(live / "progress.jsonl", {"applied": {"epoch": 2, "member": 1,
                    "path": "optimizer.lr", "old": 0.2, "new": 0.01}, "population": 0})  # fmt: skip
        append_line(live / "progress.jsonl", {"done": True})

    writer = threading.Thread(target=write)
    writer.start()
    assert main(["watch", str(tmp_path / "run"), "--interval", "0.05", "--timeout", "30"]) == 0
    writer.join()
    text = capsys.readouterr().out
    assert "1/2" in text and "2/2" in text and "2/2*" in text  # * : member 1 stopped
    assert "member 1: optimizer.lr 0.2 -> 0.01 after epoch 2" in text
