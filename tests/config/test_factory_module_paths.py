"""Where ``model.factory``'s module is found: ``sys.path``, then the folder of the config
file that names it, then the folder a saved model recorded, so ``caviar train`` and
``caviar predict`` work from any directory; a module that fails to import something of
its own is reported, not looked for elsewhere."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from caviar.cli import main
from caviar.config import load
from caviar.errors import CaviarError
from caviar.nn import factory

NETS = """
from torch import nn

def net(cfg):
    c, length = cfg["input_shape"]
    return nn.Sequential(nn.Flatten(), nn.Linear(c * length, cfg["n_outputs"]))
"""


@pytest.fixture(autouse=True)
def fresh_search_dirs(monkeypatch):
    """Each test starts with no config folder remembered and forgets the modules it made."""
    monkeypatch.setattr(factory, "_search_dirs", [])
    monkeypatch.setattr(load, "_factory_folders", [])
    before = set(sys.modules)
    yield
    for name in set(sys.modules) - before:
        if name.startswith(("seqnets", "pkgnets", "broken")):
            del sys.modules[name]


@pytest.fixture
def project(tmp_path):
    """``project/cfg.toml`` beside ``project/seqnets.py`` (not on sys.path), and data."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "seqnets.py").write_text(NETS)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2, 5))
    y = (X[:, 0].sum(axis=1) > 0).astype(int)
    data = tmp_path / "data.npz"
    np.savez(data, X=X, y=y)
    (folder / "cfg.toml").write_text(
        f'[data]\nsource = "{data}"\n[model]\nkind = "module"\nfactory = "seqnets:net"\n'
        "[train]\nepochs = 2\nbatch_size = 16\n"
    )
    return folder, data


def test_config_folder_module_trains_and_predicts_from_any_directory(
    tmp_path, monkeypatch, capsys, project
):
    folder, data = project
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # neither sys.path nor the working directory has seqnets
    out = tmp_path / "run"
    assert main(["train", str(folder / "cfg.toml"), "-o", str(out), "-q"]) == 0
    network = json.loads((out / "model" / "model.json").read_text())["network"]
    assert network["factory"] == "seqnets:net"
    assert network["factory_dir"] == str(folder.resolve())
    # a fresh process, in yet another directory, that never read the config
    other = tmp_path / "other"
    other.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "caviar", "predict", str(out / "model"), str(data), "-o", "p.csv"],
        cwd=other,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert len((other / "p.csv").read_text().splitlines()) == 61


def test_a_moved_factory_is_a_one_line_error_naming_where_it_looked(tmp_path, capsys, project):
    folder, data = project
    out = tmp_path / "run"
    assert main(["train", str(folder / "cfg.toml"), "-o", str(out), "-q"]) == 0
    (folder / "seqnets.py").rename(tmp_path / "gone.py")
    done = subprocess.run(
        [sys.executable, "-m", "caviar", "predict", str(out / "model"), str(data)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and "cannot import the module factory 'seqnets:net'" in err[0]
    assert str(folder.resolve()) in err[0]


def test_resolve_searches_sys_path_first_then_the_folders(tmp_path, monkeypatch):
    first, second = tmp_path / "a", tmp_path / "b"
    for folder, width in ((first, 3), (second, 5)):
        (folder / "pkgnets").mkdir(parents=True)
        (folder / "pkgnets" / "__init__.py").write_text("")
        (folder / "pkgnets" / "models.py").write_text(f"def net(cfg):\n    return {width}\n")
    factory.add_search_dir(second)
    fn = factory.resolve("pkgnets.models:net")
    assert fn({}) == 5  # only the search folder has it
    assert factory.module_root(fn) == str(second.resolve())
    del sys.modules["pkgnets.models"], sys.modules["pkgnets"]
    monkeypatch.syspath_prepend(str(first))
    assert factory.resolve("pkgnets.models:net")({}) == 3  # sys.path wins


def test_a_failing_import_inside_the_module_is_reported_not_searched(tmp_path):
    (tmp_path / "broken.py").write_text("import no_such_dependency_xyz\n\ndef net(cfg): ...\n")
    with pytest.raises(CaviarError, match="No module named 'no_such_dependency_xyz'") as e:
        factory.resolve("broken:net", [str(tmp_path)])
    assert "\n" not in str(e.value)


def test_module_root_of_caviar_and_main_is_none():
    from caviar.nn.cnn import build_cnn

    assert factory.module_root(build_cnn) is None

    def local(cfg):  # noqa: ARG001
        return None

    local.__module__ = "__main__"
    assert factory.module_root(local) is None
