"""Populations side by side (``caviar.tune.concurrent``): same trials as one at a time."""

import pytest
import torch
from tune_helpers import iris_config

from caviar.errors import CaviarError
from caviar.tune.concurrent import intra_op_threads
from caviar.tune.dispatch import ExecutorSpec, LocalExecutor, make_executor
from caviar.tune.runner import tune


def _trials(result):
    return {
        t["index"]: (t["params"], t["val_score"], t["history"]["val_loss"]) for t in result.trials
    }


def test_side_by_side_gives_the_trials_of_one_at_a_time(tmp_path):
    cfg = iris_config(trials=12, halving={"min_epochs": 1, "eta": 2})
    cfg["search"]["space"]["model.hidden"] = {"choice": [[8], [16], [4, 4]]}
    with intra_op_threads(1):  # the same kernels on one thread either way: bitwise equal
        one = tune(cfg, out=tmp_path / "one", executor=ExecutorSpec(workers=1))
        three = tune(cfg, out=tmp_path / "three", executor=ExecutorSpec(workers=3))
    assert len({str(t["structure"]["sizes"]) for t in one.trials}) == 3  # three populations
    assert _trials(three) == _trials(one)
    assert three.counts == one.counts and three.counts["pruned"] > 0
    assert three.test_score == one.test_score
    # the best-so-far trace stays monotone with several populations reporting
    scores = [score for _, score in three.epoch_trace]
    assert scores == sorted(scores)


def test_threads_are_restored_and_budget_is_shared():
    before = torch.get_num_threads()
    with intra_op_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    assert LocalExecutor(3).concurrency == 3
    assert LocalExecutor().concurrency == max(1, torch.get_num_threads())


def test_bad_workers_are_one_line_errors():
    with pytest.raises(CaviarError, match="--workers must be at least 1, got 0"):
        make_executor(ExecutorSpec(workers=0))
    with pytest.raises(CaviarError, match="--workers is for the local executor"):
        make_executor(ExecutorSpec(name="ray", workers=2))
