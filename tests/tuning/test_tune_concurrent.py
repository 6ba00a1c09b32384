"""Populations side by side (``caviar.tuning.concurrent``): same trials as one at a time."""

import pytest
import torch
from tune_helpers import iris_config

from caviar.errors import CaviarError
from caviar.tuning.concurrent import intra_op_threads
from caviar.tuning.dispatch import ExecutorSpec, make_executor
from caviar.tuning.local_executor import LocalExecutor
from caviar.tuning.runner import tune


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


def test_an_error_keeps_finished_populations_and_starts_no_more():
    import threading
    import time

    from caviar.tuning.concurrent import run_side_by_side
    from caviar.tuning.executor_protocol import PopulationJob

    release = threading.Event()
    started = []

    def train(configs, data, *, callbacks, on_epoch):
        started.append(configs[0])
        if configs[0] == "bad":
            release.set()
            raise RuntimeError("population failed")
        release.wait(5)  # still running when the other one fails...
        time.sleep(0.2)  # ...and finishing after it
        return [f"record of {configs[0]}"]

    jobs = [
        PopulationJob([0], ["good"]),
        PopulationJob([1], ["bad"]),
        PopulationJob([2], ["later"]),
    ]
    out = []
    with pytest.raises(RuntimeError, match="population failed"):
        for job, records, error in run_side_by_side(jobs, None, lambda: True, None, 2, train=train):
            out.append((job.indices, records, error))
    assert out == [([0], ["record of good"], None)]
    assert sorted(started) == ["bad", "good"]  # "later" never started


def test_stopping_the_search_stops_the_running_populations():
    """Ctrl-C reaches the main thread only: closing the iteration (what an exception in
    the search loop does) makes the populations still training stop after their epoch."""
    from caviar.tuning.concurrent import Aborted, run_side_by_side
    from caviar.tuning.executor_protocol import PopulationJob

    epochs_run = {"long": 0}
    outcome = {}

    def train(configs, data, *, callbacks, on_epoch):
        if configs[0] == "short":
            return ["short done"]
        try:
            for _ in range(100_000):  # far longer than the test
                epochs_run["long"] += 1
                for cb in callbacks:
                    cb(None)
        except Aborted as e:
            outcome["long"] = str(e)
            raise
        return ["long done"]

    jobs = [PopulationJob([0], ["short"]), PopulationJob([1], ["long"])]
    search = run_side_by_side(jobs, None, lambda: True, None, 2, train=train)
    job, records, _ = next(search)
    assert records == ["short done"]
    search.close()  # returns once the long population has stopped
    assert outcome == {"long": "the search was interrupted"}
    assert epochs_run["long"] < 100_000
