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


def pytest_collection_modifyitems(config, items):
    root = os.path.dirname(__file__)
    for item in items:
        rel = os.path.relpath(str(item.path), root).replace(os.sep, "/")
        if rel.startswith(EXCLUSIVE):
            item.add_marker(pytest.mark.xdist_group("exclusive"))
