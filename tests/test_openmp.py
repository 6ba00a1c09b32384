"""caviar.openmp: passive OpenMP waiting set before torch loads; threads = free cores."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

from caviar import openmp
from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.openmp import adjust_threads, free_cores, load_aware_threads, own_runnable_threads
from caviar.training.trainer import PopulationTrainer

PROBE = "import os\nimport {module}\nprint(os.environ.get('OMP_WAIT_POLICY'))\n"


def _probe(module: str, **env) -> list[str]:
    base = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


@pytest.mark.parametrize("module", ["caviar", "caviar.cli", "caviar.sklearn"])
def test_import_sets_passive_waiting_before_torch_loads(module):
    assert _probe(module)[0] == "PASSIVE"


def test_a_users_wait_policy_is_kept():
    assert _probe("caviar", OMP_WAIT_POLICY="ACTIVE")[0] == "ACTIVE"


def test_prefer_passive_waiting_reports_whether_it_is_in_time():
    env: dict = {}
    assert openmp.prefer_passive_waiting(env) is False  # torch is loaded in this process
    assert env == {"OMP_WAIT_POLICY": "PASSIVE"}


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_threads_follow_free_cores_and_are_restored(two_threads):
    with load_aware_threads():
        assert adjust_threads(free=lambda: 0) == 1 and torch.get_num_threads() == 1
        assert adjust_threads(free=lambda: 1) == 1
        assert adjust_threads(free=lambda: 7) == 2 and torch.get_num_threads() == 2
        assert adjust_threads(free=lambda: 0) == 1
        assert adjust_threads(free=lambda: None) == 2  # unknown: the ceiling
        adjust_threads(free=lambda: 0)
        with load_aware_threads():  # nested: the outer block keeps the ceiling
            assert adjust_threads(free=lambda: 5) == 2
            adjust_threads(free=lambda: 0)
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_no_adjustment_outside_a_block_off_cpu_or_when_switched_off(two_threads, monkeypatch):
    assert adjust_threads(free=lambda: 0) is None and torch.get_num_threads() == 2
    with load_aware_threads():
        assert adjust_threads("cuda:0", free=lambda: 0) is None
        assert torch.get_num_threads() == 2
    monkeypatch.setenv("CAVIAR_LOAD_AWARE_THREADS", "0")
    with load_aware_threads():
        assert adjust_threads(free=lambda: 0) is None
    assert torch.get_num_threads() == 2


def test_no_adjustment_in_a_side_by_side_thread(two_threads):
    seen = []

    def work():
        with load_aware_threads():
            seen.append(adjust_threads(free=lambda: 0))

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert seen == [None]


@pytest.mark.skipif(not os.path.exists("/proc/loadavg"), reason="Linux /proc")
def test_free_cores_reads_the_kernel():
    assert own_runnable_threads() >= 1  # this thread, reading
    free = free_cores(cores=2)
    assert free is not None and 0 <= free <= 2
    assert free_cores(cores=10_000) >= 10_000 - (openmp.runnable_tasks() or 0) - 16


def _train(iris, free: int, monkeypatch) -> tuple[PopulationTrainer, list[int]]:
    monkeypatch.setattr(openmp, "free_cores", lambda: free)
    raw = {
        "data": {"source": "iris"},
        "model": {"hidden": [8]},
        "optimizer": {"name": "adam", "lr": [1e-2, 3e-2]},
        "train": {"epochs": 4, "batch_size": 16, "patience": None},
    }
    seen: list[int] = []
    trainer = PopulationTrainer(
        expand_configs(raw), iris, callbacks=[lambda t: seen.append(torch.get_num_threads())]
    )
    trainer.run()
    return trainer, seen


def test_a_trainer_runs_on_the_free_cores_with_the_same_result(two_threads, monkeypatch):
    iris = prepare_data("iris", seed=1)
    busy, seen_busy = _train(iris, 0, monkeypatch)
    quiet, seen_quiet = _train(iris, 2, monkeypatch)
    assert seen_busy == [1] * 4 and seen_quiet == [2] * 4
    assert torch.get_num_threads() == 2  # restored after the run
    np.testing.assert_array_equal(busy.model.flat.numpy(), quiet.model.flat.numpy())
