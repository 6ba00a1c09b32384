"""Smoke test: benchmarks/regularization.py --quick runs and ends with one JSON line."""


def test_regularization_benchmark_quick(run_quick):
    last = run_quick("regularization")
    assert last["benchmark"] == "regularization"
    assert set(last["ratio_vs_plain"]) == {"dropout", "batch_norm", "augment", "all"}
    assert all(v > 0 for v in last["ratio_vs_plain"].values())
