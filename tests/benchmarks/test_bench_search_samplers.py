"""Smoke test: benchmarks/search_samplers.py --quick runs every strategy and ends with JSON."""


def test_search_samplers_quick(run_quick):
    summary = run_quick("search_samplers")
    assert summary["benchmark"] == "search_samplers" and summary["quick"] is True
    for strategy in ("random", "tpe", "gp", "cmaes", "qmc"):
        assert 0 < summary["mean_best_val"][strategy] <= 1
        assert summary["mean_seconds"][strategy] > 0
        assert len(summary["runs"][strategy]) == 1
    assert summary["seconds_vs_random"]["random"] == 1.0
