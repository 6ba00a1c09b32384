"""caviar.openmp: a wait policy for torch's OpenMP runtime only (decided from the load when
torch loads; children do not inherit it); threads = free cores."""

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

CHILD = "import os; print(os.environ.get('OMP_WAIT_POLICY'))"
PROBE = (
    "import os, subprocess, sys\nimport {module}\nimport torch\nfrom caviar import openmp\n"
    f"child = subprocess.run([sys.executable, '-c', {CHILD!r}],"
    " capture_output=True, text=True).stdout.strip()\n"
    "print(os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT'), child,"
    " openmp.applied.get('OMP_WAIT_POLICY'), openmp.applied.get('GOMP_SPINCOUNT'))\n"
)


def _probe(module: str, **env) -> list[str]:
    base = {k: v for k, v in os.environ.items() if k not in openmp.WAIT_VARIABLES}
    base = {k: v for k, v in base.items() if not k.startswith("CAVIAR_")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        env={**base, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split()


@pytest.mark.parametrize("module", ["caviar", "caviar.cli", "caviar.sklearn"])
def test_import_gives_torch_a_wait_policy_and_leaves_the_environment_alone(module):
    # issue 30: the policy reaches torch's OpenMP runtime only; neither this process's
    # environment nor a child's carries it afterwards
    policy, spin, child, runtime_policy, runtime_spin = _probe(module)
    assert policy == spin == child == "None"
    # decided from the load at torch's import: quiet, a bounded spin; busy, PASSIVE
    quiet = ["None", str(openmp.QUIET_SPINCOUNT)]
    assert [runtime_policy, runtime_spin] in (quiet, ["PASSIVE", "None"])
    passive = _probe(module, CAVIAR_WAIT_POLICY="passive")
    assert passive == ["None", "None", "None", "PASSIVE", "None"]


def test_a_users_wait_policy_is_kept():
    # the user's own setting stays in the environment (theirs, children inherit it) and
    # Caviar sets nothing on top of it
    assert _probe("caviar", OMP_WAIT_POLICY="ACTIVE") == [
        "ACTIVE",
        "None",
        "ACTIVE",
        "None",
        "None",
    ]
    mine = _probe("caviar", GOMP_SPINCOUNT="1000", CAVIAR_WAIT_POLICY="active")
    assert mine == ["None", "1000", "None", "None", "None"]


def test_prefer_passive_waiting_reports_whether_it_is_in_time():
    env: dict = {}
    assert openmp.prefer_passive_waiting(env) is False  # torch is loaded in this process
    assert env == {"OMP_WAIT_POLICY": "PASSIVE"}


SPIN = (
    "import time, caviar, torch\ntorch.set_num_threads(2)\na = torch.randn(256, 256)\n"
    "for _ in range(20): a @ a\n"
    "c = time.process_time(); time.sleep(1.0); print(time.process_time() - c)\n"
)


@pytest.mark.skipif(openmp.usable_cores() < 2, reason="a team of one thread never waits")
def test_torchs_runtime_sees_the_policy():
    # ACTIVE: the idle team thread spins through a sleep of the main thread (CPU time);
    # PASSIVE: it sleeps too. Proof that libgomp read the setting at torch's import.
    # The quiet default's spin is bounded: it stops within the sleep (about 75 ms here)
    base = {k: v for k, v in os.environ.items() if k not in openmp.WAIT_VARIABLES}
    cpu = {}
    for policy in ("active", "passive", str(openmp.QUIET_SPINCOUNT)):
        out = subprocess.run(
            [sys.executable, "-c", SPIN],
            env={**base, "CAVIAR_WAIT_POLICY": policy},
            capture_output=True,
            text=True,
            check=True,
        )
        cpu[policy] = float(out.stdout.split()[-1])
    assert cpu["active"] > 0.05 and cpu["passive"] < 0.03, cpu
    assert cpu[str(openmp.QUIET_SPINCOUNT)] < 0.3, cpu  # ACTIVE, quiet: the whole 1 s


def test_wait_settings_decided_by_the_load(monkeypatch):
    monkeypatch.setattr(openmp, "USER_WAIT_SETTINGS", dict.fromkeys(openmp.WAIT_VARIABLES))
    monkeypatch.delenv("CAVIAR_WAIT_POLICY", raising=False)
    quiet = {"GOMP_SPINCOUNT": str(openmp.QUIET_SPINCOUNT)}
    assert openmp.wait_settings(free=2, cores=2) == quiet
    assert openmp.wait_settings("load", free=1, cores=2) == {"OMP_WAIT_POLICY": "PASSIVE"}
    assert openmp.wait_settings("load", free=0, cores=4) == {"OMP_WAIT_POLICY": "PASSIVE"}
    monkeypatch.setattr(openmp, "free_cores", lambda cores: None)  # not Linux
    assert openmp.wait_settings("load", cores=2) == {}
    assert openmp.wait_settings("passive", free=2, cores=2) == {"OMP_WAIT_POLICY": "PASSIVE"}
    assert openmp.wait_settings("10000") == {"GOMP_SPINCOUNT": "10000"}
    assert openmp.wait_settings("default") == {}
    monkeypatch.setenv("CAVIAR_WAIT_POLICY", "active")
    assert openmp.wait_settings(free=0, cores=2) == {"OMP_WAIT_POLICY": "ACTIVE"}
    with pytest.warns(UserWarning, match="CAVIAR_WAIT_POLICY='fast' is not"):
        assert openmp.wait_settings("fast") == {}
    monkeypatch.setattr(openmp, "USER_WAIT_SETTINGS", {"OMP_WAIT_POLICY": "PASSIVE"})
    assert openmp.wait_settings("active", free=2, cores=2) == {}  # the user's wins


def test_the_settings_live_only_during_the_import(tmp_path, monkeypatch):
    (tmp_path / "omp_probe_module.py").write_text(
        "import os\nSEEN = os.environ.get('OMP_WAIT_POLICY'), os.environ.get('GOMP_SPINCOUNT')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(openmp, "USER_WAIT_SETTINGS", dict.fromkeys(openmp.WAIT_VARIABLES))
    monkeypatch.setenv("CAVIAR_WAIT_POLICY", "passive")
    monkeypatch.setattr(openmp, "applied", {})  # this process's torch keeps its record
    monkeypatch.setenv("GOMP_SPINCOUNT", "7")  # restored exactly, not removed
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert openmp.install_wait_policy("omp_probe_module") is True
    import omp_probe_module

    assert omp_probe_module.SEEN == ("PASSIVE", "7")
    assert "OMP_WAIT_POLICY" not in os.environ and os.environ["GOMP_SPINCOUNT"] == "7"
    assert openmp.install_wait_policy("omp_probe_module") is False  # imported: too late
    assert not any(getattr(f, "module", None) == "omp_probe_module" for f in sys.meta_path)
    sys.modules.pop("omp_probe_module")


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
