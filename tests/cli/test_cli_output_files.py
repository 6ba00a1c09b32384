"""``predict -o`` and ``report -o`` never replace an existing file without
``--overwrite`` (issue 13: no earlier result is ever overwritten), and say what they
replace when told to."""

import os
import sys

import pandas as pd
import pytest

from caviar.cli import main

sys.path.insert(0, os.path.dirname(__file__))
from test_cli_run_safety import one_error_line, train_cfg  # noqa: E402


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("out")
    out = root / "run"
    assert main(["train", str(train_cfg(root)), "-o", str(out), "-q"]) == 0
    return out


def test_predict_refuses_an_existing_output_file(trained, tmp_path, capsys):
    preds = tmp_path / "preds.csv"
    preds.write_text("my,earlier,result\n1,2,3\n")
    assert main(["predict", str(trained / "model"), "iris", "-o", str(preds)]) == 2
    line = one_error_line(capsys)
    assert str(preds) in line and "already exists" in line and "--overwrite" in line
    assert preds.read_text() == "my,earlier,result\n1,2,3\n"


def test_predict_overwrite_replaces_and_says_so(trained, tmp_path, capsys):
    preds = tmp_path / "preds.csv"
    preds.write_text("old\n")
    args = ["predict", str(trained / "model"), "iris", "-o", str(preds), "--overwrite"]
    assert main(args) == 0
    err = capsys.readouterr().err
    assert f"--overwrite: {preds} (4 bytes) is replaced" in err
    frame = pd.read_csv(preds)
    assert len(frame) == 150 and "prediction" in frame.columns


def test_predict_into_a_directory_is_refused(trained, tmp_path, capsys):
    target = tmp_path / "somedir"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    assert main(["predict", str(trained / "model"), "iris", "-o", str(target)]) == 2
    assert "is a directory" in one_error_line(capsys)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_report_refuses_an_existing_named_file(trained, tmp_path, capsys):
    html = tmp_path / "mine.html"
    html.write_text("<p>a report I edited</p>")
    assert main(["report", str(trained), "-o", str(html)]) == 2
    assert "already exists" in one_error_line(capsys)
    assert html.read_text() == "<p>a report I edited</p>"
    assert main(["report", str(trained), "-o", str(html), "--overwrite"]) == 0
    out = capsys.readouterr().out
    assert "--overwrite:" in out and html.stat().st_size > 10_000


def test_report_regenerates_its_default_file(trained, capsys):
    assert main(["report", str(trained)]) == 0
    assert main(["report", str(trained)]) == 0
    assert (trained / "report.html").stat().st_size > 10_000
