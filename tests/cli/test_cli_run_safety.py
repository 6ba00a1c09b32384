"""No command destroys an earlier result: train/diagnose -o refuse an existing path
unless --overwrite; tune refuses other kinds of runs, a resume of another study, and
of two starts on one new directory exactly one wins."""

import json
import os
import subprocess
import sys
import threading

import pytest

from caviar.cli import main
from caviar.errors import CaviarError
from caviar.run_dir import claim_tune_dir, run_kind

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tuning"))
from tune_helpers import iris_config, write_toml  # noqa: E402

TRAIN = """
[data]
source = "iris"
[model]
hidden = [4]
[optimizer]
name = "adam"
lr = {lr}
[train]
epochs = 3
batch_size = 32
"""


def train_cfg(tmp_path, name="a", lr="[0.01, 0.03]"):
    path = tmp_path / f"{name}.toml"
    path.write_text(TRAIN.format(lr=lr))
    return path


def tune_cfg(tmp_path, name="t", **search):
    cfg = iris_config(trials=2, **search)
    cfg["train"]["epochs"] = 2
    return write_toml(tmp_path / f"{name}.toml", cfg)


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def snapshot(path):
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


def test_train_into_an_existing_run_is_refused_and_keeps_it(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(train_cfg(tmp_path)), "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    before = snapshot(out)
    other = train_cfg(tmp_path, "b", lr="[0.5]")
    assert main(["train", str(other), "-o", str(out), "-q"]) == 2
    line = one_error_line(capsys)
    assert "already exists (a train run)" in line and "--overwrite" in line
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.toml", "b.toml", "run"]


def test_train_overwrite_says_what_it_replaces(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(train_cfg(tmp_path)), "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    other = train_cfg(tmp_path, "b", lr="[0.02]")
    assert main(["train", str(other), "-o", str(out), "-q", "--overwrite"]) == 0
    err = capsys.readouterr().err
    assert f"--overwrite: {out}, a train run (" in err and "history.csv" in err
    assert json.loads((out / "summary.json").read_text())["n_configs"] == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_train_into_a_tune_run_keeps_its_study(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["tune", str(tune_cfg(tmp_path)), "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    before = snapshot(out)
    assert main(["train", str(train_cfg(tmp_path)), "-o", str(out), "-q"]) == 2
    assert "already exists (a tune run)" in one_error_line(capsys)
    assert snapshot(out) == before and (out / "study.db").is_file()


def test_train_onto_a_regular_file_is_refused(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    assert main(["train", str(train_cfg(tmp_path)), "-o", str(target), "-q"]) == 2
    assert "already exists (a file)" in one_error_line(capsys)
    assert target.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.toml", "notes.txt"]
    # with --overwrite the file is replaced (and no hidden .notes.txt-old is left)
    assert main(["train", str(train_cfg(tmp_path)), "-o", str(target), "-q", "--overwrite"]) == 0
    assert "a file" in capsys.readouterr().err
    assert (target / "model" / "model.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.toml", "notes.txt"]


def test_train_into_an_empty_directory_is_fine(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    assert main(["train", str(train_cfg(tmp_path)), "-o", str(out), "-q"]) == 0
    assert run_kind(out) == "train"


def test_tune_into_a_train_run_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", str(train_cfg(tmp_path)), "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    before = snapshot(out)
    for extra in ([], ["--resume"]):
        assert main(["tune", str(tune_cfg(tmp_path)), "-o", str(out), "-q", *extra]) == 2
        assert "holds a train run" in one_error_line(capsys)
        assert snapshot(out) == before


def test_tune_into_a_directory_of_other_files_is_refused(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("x")
    assert main(["tune", str(tune_cfg(tmp_path)), "-o", str(out), "-q"]) == 2
    assert "files that are not a caviar run" in one_error_line(capsys)
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]


def test_resume_with_another_study_is_refused(tmp_path, capsys):
    out = tmp_path / "R"
    assert main(["tune", str(tune_cfg(tmp_path, "a")), "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    before = snapshot(out)
    b = tune_cfg(tmp_path, "b")
    assert main(["tune", str(b), "-o", str(out), "-q", "--resume"]) == 2
    assert "holds the study 'a', not 'b'" in one_error_line(capsys)
    assert snapshot(out) == before


def test_resume_of_a_run_without_run_json_checks_the_studies_in_study_db(tmp_path, capsys):
    out = tmp_path / "R"
    assert main(["tune", str(tune_cfg(tmp_path, "a")), "-o", str(out), "-q"]) == 0
    (out / "run.json").unlink()  # a run written before run.json existed
    capsys.readouterr()
    assert main(["tune", str(tune_cfg(tmp_path, "b")), "-o", str(out), "-q", "--resume"]) == 2
    assert "holds the study 'a', not 'b'" in one_error_line(capsys)


def test_resume_with_another_config_of_the_same_name_is_refused(tmp_path, capsys):
    out = tmp_path / "R"
    assert main(["tune", str(tune_cfg(tmp_path, "a")), "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    before = snapshot(out)
    changed = tune_cfg(tmp_path, "a", seed=5)
    assert main(["tune", str(changed), "-o", str(out), "-q", "--resume"]) == 2
    assert "another configuration (seed: 0 then, 5 now)" in one_error_line(capsys)
    after = snapshot(out)  # the study was opened to read its configuration: same files
    assert after.keys() == before.keys()
    assert {k: v for k, v in after.items() if k != "study.db"} == {
        k: v for k, v in before.items() if k != "study.db"
    }


def test_two_simultaneous_starts_on_one_new_directory_exactly_one_wins(tmp_path):
    """The claim itself, raced by threads released at one barrier (many rounds)."""
    for round_ in range(20):
        out = tmp_path / f"new{round_}"
        barrier = threading.Barrier(4)
        results: list = []

        def start(out=out, barrier=barrier, results=results):
            barrier.wait()
            try:
                claim_tune_dir(out, study="t", resume=False, storage="sqlite:///x")
                results.append("won")
            except CaviarError as e:
                results.append(str(e))

        threads = [threading.Thread(target=start) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count("won") == 1, results


def test_two_tune_processes_started_together_one_wins(tmp_path):
    cfg, out = tune_cfg(tmp_path), tmp_path / "run"
    cli = [sys.executable, "-c", "from caviar.cli import main; raise SystemExit(main())"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen(
            [*cli, "tune", str(cfg), "-o", str(out), "-q"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 2], results
    loser = next(err for rc, err in results if rc == 2)
    assert loser.strip().startswith("error: ") and len(loser.strip().splitlines()) == 1


@pytest.mark.parametrize("cmd", ["train", "diagnose"])
def test_default_output_is_protected_too(tmp_path, capsys, cmd, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = train_cfg(tmp_path)
    extra = ["--epochs", "1", "--lr-steps", "3"] if cmd == "diagnose" else ["-q"]
    assert main([cmd, str(cfg), *extra]) == 0
    capsys.readouterr()
    assert main([cmd, str(cfg), *extra]) == 2
    assert "--overwrite" in one_error_line(capsys)
    assert main([cmd, str(cfg), *extra, "--overwrite"]) == 0


def test_tune_onto_a_regular_file_is_refused(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    assert main(["tune", str(tune_cfg(tmp_path)), "-o", str(target), "-q"]) == 2
    assert "is a file, not a run directory" in one_error_line(capsys)
    assert target.read_text() == "keep me"
