"""Smoke test of benchmarks/memory.py: it runs, reports the peak against the budget
model, and memory does not grow population after population."""


def test_memory_benchmark_quick(run_quick):
    out = run_quick("memory")
    assert out["populations"] >= 3 and out["budget_mb"] == 128.0
    assert out["peak_rss_mb"] > out["baseline_mb"] > 0
    assert 0 < out["peak_rss_over_budget_model"] <= 2.0
    assert abs(out["growth_mb_per_population"]) < 20.0, out  # it was ~110 per population
    long = out["long_search"]  # tiny trials: what a search keeps must not grow with them
    assert long["trials"] == 1500 and long["first_trials"] >= 750
    assert long["rss_growth_mb"] < 50.0, long
