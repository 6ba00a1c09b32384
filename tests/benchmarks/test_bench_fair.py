"""benchmarks/fair.py: peers run in fresh processes that never import caviar, in the
user's environment without Caviar's variables, at the best of their settings."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import fair  # noqa: E402

PEER = """
import argparse, json, os, sys
p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=1)
p.add_argument("--size", type=int, default=0)
a = p.parse_args()
{extra}
print("a table line, not JSON")
print(json.dumps({{"seconds": 10.0 / a.threads, "size": a.size,
                  "policy": os.environ.get("OMP_WAIT_POLICY")}}))
"""


def _peer(tmp_path, extra: str = "") -> str:
    path = tmp_path / "peer.py"
    path.write_text(PEER.format(extra=extra))
    return str(path)


@pytest.fixture
def users_environment(monkeypatch):
    """The user's environment had a Caviar variable and no wait policy; the harness's
    own process has caviar imported (as in a benchmark's driver)."""
    from caviar import openmp

    env = {k: v for k, v in fair._USER_ENVIRONMENT.items() if k not in fair.WAIT_VARIABLES}
    monkeypatch.setattr(fair, "_USER_ENVIRONMENT", {**env, "CAVIAR_LOAD_AWARE_THREADS": "0"})
    monkeypatch.setattr(openmp, "USER_WAIT_SETTINGS", dict.fromkeys(openmp.WAIT_VARIABLES))


def test_the_best_setting_wins_and_every_try_is_listed(tmp_path, users_environment):
    best = fair.run_peer(_peer(tmp_path), ["--size", "3"], fair.TORCH_THREADS, repeat=2)
    assert best["seconds"] == 5.0 and best["setting"] == {"threads": 2} and best["size"] == 3
    assert [t["setting"]["threads"] for t in best["tried"]] == [1, 2, 1, 2]
    assert [t["seconds"] for t in best["tried"]] == [10.0, 5.0, 10.0, 5.0]
    assert best["own_process"] is True and best["caviar_modules"] == []
    assert best["environment"] == {} and best["policy"] is None  # no CAVIAR_*, no policy


def test_a_peer_that_imports_caviar_is_refused(tmp_path, users_environment):
    script = _peer(tmp_path, "import caviar")
    with pytest.raises(fair.PeerError, match="imported caviar"):
        fair.run_peer(script, settings=fair.TORCH_THREADS)
    allowed = fair.run_peer(script, allow_caviar=True)  # sklearn_search.py's estimator
    assert "caviar" in allowed["caviar_modules"]


def test_caviar_runs_in_the_users_environment(tmp_path, users_environment):
    out = fair.run_caviar(_peer(tmp_path))
    assert out["environment"] == {"CAVIAR_LOAD_AWARE_THREADS": "0"}


def test_a_failing_peer_is_one_error(tmp_path, users_environment):
    with pytest.raises(fair.PeerError, match="failed: .*ZeroDivisionError"):
        fair.run_peer(_peer(tmp_path, "1 / 0"))


def test_a_function_peer_gets_its_keyword_arguments(tmp_path, users_environment):
    (tmp_path / "fpeer.py").write_text(
        "import sys\ndef run(data, n_jobs):\n"
        "    return {'seconds': 1.0 + n_jobs, 'rows': len(data.X_train),"
        " 'caviar': 'caviar' in sys.modules}\n"
    )
    data = fair.portable(type("D", (), {"X_train": [1, 2, 3], "n_classes": 2, "other": 0})())
    assert vars(data) == {"X_train": [1, 2, 3], "n_classes": 2}
    best = fair.run_peer(
        f"{tmp_path}/fpeer.py:run", kwargs={"data": data}, settings=fair.SKLEARN_JOBS
    )
    assert best["setting"] == {"n_jobs": 1} and best["rows"] == 3 and best["caviar"] is False


def test_peer_environment_drops_what_caviar_sets(monkeypatch):
    from caviar import openmp

    env = {"PATH": "/bin", "CAVIAR_WAIT_POLICY": "active", "OMP_WAIT_POLICY": "PASSIVE"}
    monkeypatch.setattr(openmp, "USER_WAIT_SETTINGS", dict.fromkeys(openmp.WAIT_VARIABLES))
    assert fair.peer_environment(env) == {"PATH": "/bin"}
    mine = {**dict.fromkeys(openmp.WAIT_VARIABLES), "GOMP_SPINCOUNT": "1000"}
    monkeypatch.setattr(openmp, "USER_WAIT_SETTINGS", mine)  # set by the user: kept
    assert fair.peer_environment(env) == {"PATH": "/bin", "GOMP_SPINCOUNT": "1000"}
    assert fair.setting_flags({"n_jobs": 2, "threads": 1}) == ["--n-jobs", "2", "--threads", "1"]
