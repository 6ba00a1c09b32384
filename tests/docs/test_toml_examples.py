"""Every TOML example in ``examples/`` loads and runs (shortened to a few epochs).

A file with a ``[search]`` section is a ``caviar tune`` config, the others are
``caviar train`` configs (``deep_sigmoid_vs_relu.toml`` is also meant for
``caviar diagnose``: it trains as well). The run keeps every key of the file and only
shortens it: 2 epochs, 3 trials, halving from epoch 1.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import caviar
from caviar.config import load_configs
from caviar.tuning import make_plan

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.toml"))


def _signals(path: Path) -> None:
    """``signals.npz`` as the header of ``sequence_rnn.toml`` makes it (fewer rows)."""
    import numpy as np

    from caviar.data.synthetic import make_signals

    X, y = make_signals(300, 32, seed=0)
    np.savez(path, X=X, y=y)


# data files that an example's header says to generate first, in the working directory
DATA_MAKERS = {"signals.npz": _signals}


def test_the_examples_are_found():
    names = {p.name for p in EXAMPLES}
    assert {"tune_digits.toml", "digits.toml", "digits_cnn.toml"} <= names


def shortened(raw: dict) -> dict:
    raw["train"] = {**raw.get("train", {}), "epochs": 2}
    search = raw.get("search")
    if search is not None:
        search["trials"] = 3
        if "halving" in search:
            search["halving"]["min_epochs"] = 1
        if "pbt" in search:
            search["pbt"]["interval"] = 1
    return raw


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_toml_example_loads_and_runs(path, tmp_path, monkeypatch):
    raw = tomllib.loads(path.read_text())
    monkeypatch.chdir(tmp_path)
    source = raw["data"]["source"]
    if source in DATA_MAKERS:
        DATA_MAKERS[source](tmp_path / source)
    if "search" in raw:
        plan = make_plan(path)  # the file as written: space, strategy, budgets
        assert len(plan.space) >= 1
        result = caviar.tune(shortened(raw), out=tmp_path / "run", outputs=False)
        assert result.trials and result.model is not None
        assert result.val_score == result.val_score  # a number, not NaN
    else:
        configs = load_configs(path)  # the file as written: its whole grid
        assert configs
        run = caviar.train(shortened(raw))
        assert len(run.members) == len(configs)
        assert all(len(m.history["val_loss"]) <= 2 for m in run.members)
