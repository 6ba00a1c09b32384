"""Test-wide setup.

Every Ray process the tests start (a head via ``ray start``, private instances via
``ray.init``) binds 127.0.0.1 only: with Ray's cluster networking off it does not
use the machine's network address. Tests send traffic to loopback only.

The suite runs on two pytest-xdist workers (``addopts`` in pyproject.toml). Tests that
start servers (Ray, PostgreSQL) or a Ray instance are put in the xdist group
``exclusive`` here, so one worker runs them one after the other and two of them never
run side by side (``--dist loadgroup``). Every other test writes only under its own
``tmp_path`` and binds only free ports, so any two may run at once.
"""

import os

import pytest
from hypothesis import HealthCheck, settings

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")

# no wall-clock limits on property tests: the checks are the same, but a busy machine
# (or two workers side by side) must not fail them for drawing inputs slowly
settings.register_profile("caviar", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("caviar")

# paths (relative to tests/) of the modules whose tests must not run side by side
EXCLUSIVE = (
    "scaleout/",
    "benchmarks/test_bench_ray_executor.py",
    "benchmarks/test_bench_under_load.py",  # it measures slowdown beside busy processes
)


# tests that take more than ~10 s on a quiet 2-core machine (measured with --durations):
# marked ``slow`` so that ``-m "not slow"`` gives a quick check while editing. The
# benchmark smoke tests each run a benchmark script in its own process; the scale-out
# tests start servers; the others start real ``caviar`` processes or searches.
SLOW = (
    "benchmarks/",
    "scaleout/",
    "cli/test_cli_run_safety.py::test_two_tune_processes_started_together_one_wins",
    "cli/test_cli_bad_input.py::test_resume_without_a_study_says_so",
    "cli/test_cli_bad_input.py::test_tiny_validation_split_is_one_warning_line",
    "cli/test_cli_bad_input.py::test_tune_with_a_huge_trial_budget_suggests_in_bounded_rounds",
    "cli/test_cli_module.py::test_tune_report_and_diagnose_a_cnn",
    "cli/test_cli_startup.py::test_piped_leaderboard_is_not_cut_at_80_columns",
    "cli/test_cli_train_predict.py::test_a_real_process_exits_2_without_traceback",
    "cli/test_cli_watch_set.py::test_watch_and_set_on_a_running_train",
    "cli/test_cli_watch_set_tune.py::test_watch_and_set_on_a_running_tune",
    "cli/test_cli_run_safety.py::test_default_output_is_protected_too",
    "cli/test_cli_module.py::test_cnn_on_digits_as_images_round_trip",
    "faults/test_faults_live_dir.py::test_cli_train_finishes_when_its_live_dir_is_removed",
    "report/test_report_browser.py",
    "sklearn_api/test_sklearn_estimator_checks.py",
    "tuning/test_tune_resume.py",
    "tuning/test_tune_concurrent.py",
)


def pytest_configure(config):
    """On an xdist worker: one intra-op torch thread, so two workers share 2 cores
    without oversubscribing them (2 workers x 2 OpenMP threads each made busy-waiting
    threads fight; tests that need threads set them themselves)."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch

        torch.set_num_threads(1)


def pytest_collection_modifyitems(config, items):
    root = os.path.dirname(__file__)
    for item in items:
        rel = os.path.relpath(str(item.path), root).replace(os.sep, "/")
        node = rel + "::" + item.name.split("[")[0]
        if rel.startswith(EXCLUSIVE):
            item.add_marker(pytest.mark.xdist_group("exclusive"))
        if node.startswith(SLOW):
            item.add_marker(pytest.mark.slow)
