"""Shared runs for the report tests (built once per session; tiny iris runs)."""

import pytest

from caviar.cli.main import main

BASE = """
[data]
source = "iris"
seed = 0
[model]
hidden = [8]
[optimizer]
name = "adam"
[train]
epochs = 6
batch_size = 16
patience = 100
"""

SEARCH = """
[search]
strategy = "coarse_to_fine"
trials = 8
batch = 4
seed = 0
[search.halving]
min_epochs = 2
eta = 2
[search.space]
"optimizer.lr" = { log_uniform = [1e-3, 3e-1] }
"optimizer.beta1" = { one_minus_log_uniform = [0.8, 0.99] }
"model.hidden" = { choice = [[8], [16]] }
"train.patience" = { int_uniform = [3, 10] }
"""

TRAIN = """
[data]
source = "iris"
seed = 0
[model]
hidden = [8]
[optimizer]
name = "sgd"
lr = [0.001, 0.1, 1.0, 30.0]
[train]
epochs = 5
batch_size = 16
"""


@pytest.fixture(scope="session")
def tune_run(tmp_path_factory):
    """A coarse-to-fine search with halving: 2 rounds, pruned trials, 4 dimensions."""
    root = tmp_path_factory.mktemp("tune")
    cfg = root / "search.toml"
    cfg.write_text(BASE + SEARCH)
    assert main(["tune", str(cfg), "-o", str(root / "run"), "--json"]) == 0
    return root / "run"


@pytest.fixture(scope="session")
def train_run(tmp_path_factory):
    """A caviar train grid over sgd's lr; lr = 30 diverges."""
    root = tmp_path_factory.mktemp("train")
    cfg = root / "grid.toml"
    cfg.write_text(TRAIN)
    assert main(["train", str(cfg), "-o", str(root / "run"), "--json"]) == 0
    return root / "run"


@pytest.fixture(scope="session")
def diagnose_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("diagnose")
    cfg = root / "one.toml"
    cfg.write_text(BASE)
    out = root / "diag"
    assert (
        main(["diagnose", str(cfg), "-o", str(out), "--epochs", "2", "--lr-steps", "10", "--json"])
        == 0
    )
    return out


@pytest.fixture
def report_configs():
    """The TOML texts the session runs are made of (BASE, SEARCH, TRAIN)."""
    return {"BASE": BASE, "SEARCH": SEARCH, "TRAIN": TRAIN}
