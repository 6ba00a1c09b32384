"""``caviar set`` checks keys and values against the running population's per-member
knobs before queueing anything (one line, exit 2), and answers without importing torch."""

import json
import subprocess
import sys

import pytest

from caviar.cli.main import main
from caviar.training.live import append_line, live_dir_of

KNOBS = ["optimizer.lr", "optimizer.beta1", "model.dropout", "train.stop_loss"]


def _running_train(tmp_path):
    live = live_dir_of(tmp_path / "run")
    live.mkdir()
    epoch = {"population": 0, "epoch": 1, "epochs": 9, "members": [0, 1], "knobs": KNOBS,
             "train_loss": [1, 1], "val_loss": [1, 1], "val_score": [0, 0], "lr": [0.1, 0.1],
             "alive": [True, True]}  # fmt: skip
    append_line(live / "progress.jsonl", epoch)
    return live


@pytest.mark.parametrize(
    "assignment,message",
    [
        ("optimizer.name=5", "'optimizer.name' cannot change during training"),
        ("optimizer.nosuch=1", "'optimizer.nosuch' cannot change during training"),
        ("data.seed=1", "'data.seed' cannot change during training"),
        ("optimizer.lr=-1", "set optimizer.lr: Input should be greater than or equal to 0"),
        ("optimizer.beta1=1.5", "set optimizer.beta1: Input should be less than 1"),
        ("model.dropout=2", "set model.dropout"),
        ("optimizer.momentum=0.5", "this population has no per-member optimizer.momentum"),
        ("optimizer.lr=nan", "not a finite number"),
    ],
)
def test_set_refuses_bad_keys_and_values_before_queueing(tmp_path, capsys, assignment, message):
    live = _running_train(tmp_path)
    assert main(["set", str(tmp_path / "run"), "--member", "1", assignment]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (live / "control.jsonl").exists()  # nothing queued


def test_set_queues_a_valid_change_without_importing_torch(tmp_path):
    live = _running_train(tmp_path)
    code = (
        "import sys; from caviar.cli.main import main; "
        f"rc = main(['set', {str(tmp_path / 'run')!r}, '--member', '1', 'optimizer.lr=0.01']); "
        "print(rc, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-2:] == ["0", "False"], out.stdout + out.stderr
    (line,) = (live / "control.jsonl").read_text().splitlines()
    assert json.loads(line) == {"member": 1, "set": {"optimizer.lr": 0.01}}
