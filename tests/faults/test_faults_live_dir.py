"""``RUN_DIR.live`` removed or unwritable mid-run: the run goes on without its live view
(one warning) and finishes; a ``.live`` left by a killed ``caviar train`` is taken over."""

import json
import shutil
import socket
import sys
import warnings
from pathlib import Path

import caviar
from caviar.cli.main import main
from caviar.training.callbacks import Callback
from caviar.training.live import live_dir_of

sys.path.insert(0, str(Path(__file__).parents[1] / "cli"))  # live_runs

CONFIG = {
    "data": {"source": "iris"},
    "model": {"hidden": [4]},
    "optimizer": {"name": "sgd", "lr": [0.05, 0.1]},
    "train": {"epochs": 4, "patience": None},
}


class RemoveAfterEpoch(Callback):
    """Removes the live directory after the first epoch (as a user's ``rm -r`` would)."""

    def __init__(self, live):
        self.live = live

    def on_epoch_end(self, epoch, logs):
        if epoch == 0:
            shutil.rmtree(self.live)


def test_train_goes_on_when_its_live_dir_disappears(tmp_path):
    live = tmp_path / "run.live"
    live.mkdir()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run = caviar.train(CONFIG, live_dir=live, callbacks=[RemoveAfterEpoch(live)])
    assert [m.epochs_run for m in run.members] == [4, 4]
    off = [w for w in caught if "live view off" in str(w.message)]
    assert len(off) == 1 and str(live) in str(off[0].message)


def test_tune_goes_on_when_its_live_dir_disappears(tmp_path):
    live = tmp_path / "run.live"
    live.mkdir()
    config = {
        **CONFIG,
        "optimizer": {"name": "sgd"},
        "search": {"strategy": "random", "trials": 2, "seed": 0,
                   "space": {"optimizer.lr": {"log_uniform": [1e-2, 1e-1]}}},
    }  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = caviar.tune(
            config, out=tmp_path / "run", live_dir=live, callbacks=[RemoveAfterEpoch(live)]
        )
    assert len(result.trials) == 2 and (tmp_path / "run" / "model").is_dir()
    assert len([w for w in caught if "live view off" in str(w.message)]) == 1


def test_a_live_dir_left_by_a_killed_train_is_taken_over(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[data]\nsource = "iris"\n[model]\nhidden = [4]\n[train]\nepochs = 2\n')
    out = tmp_path / "run"
    live = live_dir_of(out)
    live.mkdir()
    dead = {"pid": 2**22 + 12345, "host": socket.gethostname()}  # no such process
    (live / "owner.json").write_text(json.dumps(dead))
    (live / "progress.jsonl").write_text('{"members": [0], "epoch": 7}\n')
    assert main(["train", str(cfg), "-o", str(out), "-q", "--json"]) == 0
    assert not live.exists() and (out / "model").is_dir()
    kept = (out / "live" / "progress.jsonl").read_text()
    assert '"epoch": 7' not in kept  # the killed run's lines are gone
    # a live directory whose owner runs (this process) is still refused
    live.mkdir()
    (live / "owner.json").write_text(json.dumps({"pid": __import__("os").getpid(),
                                                 "host": socket.gethostname()}))  # fmt: skip
    assert main(["train", str(cfg), "-o", str(tmp_path / "run"), "--overwrite", "-q"]) == 2
    assert "another training is running there" in capsys.readouterr().err


def test_cli_train_finishes_when_its_live_dir_is_removed(tmp_path):
    from live_runs import start_live

    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[data]\nsource = "iris"\n[model]\nhidden = [8]\n[optimizer]\nname = "sgd"\n'
        "lr = [0.05, 0.1]\n[train]\nepochs = 30\nbatch_size = 4\npatience = 1000\n"
    )
    out = tmp_path / "run"
    proc = start_live(["train", str(cfg), "-q", "--json"], out, "members")
    try:
        shutil.rmtree(live_dir_of(out))
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr.decode()
    err = stderr.decode()
    assert err.count("live view off") == 1 and "Traceback" not in err, err
    assert json.loads(stdout)["n_configs"] == 2
    assert (out / "model").is_dir() and (out / "history.csv").is_file()
