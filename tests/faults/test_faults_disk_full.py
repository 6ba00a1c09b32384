"""Disk full while ``caviar train`` writes its run, while ``predict -o`` writes, and at
``caviar tune``'s start: one line, nothing partial left (no empty run.json, no
temporary files), and a retry once space is free works. A storage URL that cannot be
opened leaves nothing behind either. ENOSPC is simulated by patching the writer."""

import errno
import os

import pandas as pd
import pytest

import caviar.run_dir
from caviar.cli.main import main
from caviar.model import TrainedModel

TRAIN = '[data]\nsource = "iris"\n[model]\nhidden = [4]\n[train]\nepochs = 2\n'
SEARCH = (
    TRAIN + '[search]\nstrategy = "random"\ntrials = 2\nseed = 0\n'
    '[search.space]\n"optimizer.lr" = { log_uniform = [1e-3, 1e-1] }\n'
)


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _config(tmp_path, text):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    return cfg


def _only_line(capsys, *parts):
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for part in parts:
        assert part in err, err


def test_train_on_a_full_disk_leaves_nothing_and_a_retry_works(tmp_path, capsys, monkeypatch):
    cfg = _config(tmp_path, TRAIN)
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        m.setattr(TrainedModel, "save", _enospc)
        assert main(["train", str(cfg), "-o", str(out), "-q"]) == 1
    _only_line(capsys, "No space left on device")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]  # no run, no .live
    assert main(["train", str(cfg), "-o", str(out), "-q", "--json"]) == 0
    assert (out / "model").is_dir() and (out / "run.json").read_text().strip()


def test_predict_output_on_a_full_disk_leaves_nothing(tmp_path, capsys, monkeypatch):
    cfg = _config(tmp_path, TRAIN)
    assert main(["train", str(cfg), "-o", str(tmp_path / "run"), "-q", "--json"]) == 0
    capsys.readouterr()
    preds = tmp_path / "out" / "p.csv"
    preds.parent.mkdir()
    real = pd.DataFrame.to_csv

    def half_then_full(self, path, *args, **kwargs):
        with open(path, "w") as fh:
            fh.write("prediction\n0\n")  # part of the file, then the disk is full
        _enospc()

    with monkeypatch.context() as m:
        m.setattr(pd.DataFrame, "to_csv", half_then_full)
        assert main(["predict", str(tmp_path / "run" / "model"), "iris", "-o", str(preds)]) == 1
    _only_line(capsys, "No space left on device")
    assert list(preds.parent.iterdir()) == []  # no partial file, no temporary file
    assert pd.DataFrame.to_csv is real
    assert main(["predict", str(tmp_path / "run" / "model"), "iris", "-o", str(preds)]) == 0
    assert len(pd.read_csv(preds)) == 150


def test_tune_start_on_a_full_disk_leaves_no_run_json(tmp_path, capsys, monkeypatch):
    cfg = _config(tmp_path, SEARCH)
    out = tmp_path / "run"
    with monkeypatch.context() as m:
        m.setattr(caviar.run_dir, "_fill", _enospc)
        assert main(["tune", str(cfg), "-o", str(out), "-q"]) == 1
    _only_line(capsys, "No space left on device")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]  # no run dir, no .live
    assert main(["tune", str(cfg), "-o", str(out), "-q", "--json"]) == 0  # no --resume needed
    assert (out / "study.db").is_file() and (out / "model").is_dir()


def test_tune_into_an_existing_empty_dir_keeps_the_dir(tmp_path, capsys, monkeypatch):
    cfg = _config(tmp_path, SEARCH)
    out = tmp_path / "run"
    out.mkdir()
    with monkeypatch.context() as m:
        m.setattr(caviar.run_dir, "_fill", _enospc)
        assert main(["tune", str(cfg), "-o", str(out), "-q"]) == 1
    capsys.readouterr()
    assert out.is_dir() and list(out.iterdir()) == []


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_storage_that_cannot_be_opened_leaves_nothing(tmp_path, capsys, kind):
    cfg = _config(tmp_path, SEARCH)
    if kind == "sqlite":  # a path below a regular file cannot be created, even by root
        url = f"sqlite:///{cfg}/study.db"
    else:
        pytest.importorskip("psycopg")
        url = "postgresql://nobody@127.0.0.1:9/x"  # nothing listens on port 9
    code = main(["tune", str(cfg), "-o", str(tmp_path / "run"), "--storage", url, "-q"])
    assert code in (1, 2)
    _only_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]
