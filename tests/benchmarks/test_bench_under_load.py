"""Smoke test: benchmarks/under_load.py --quick times the Quickstart search quiet and beside
one CPU-bound process it starts (and stops), ending with one JSON line."""


def test_under_load_benchmark_quick(run_quick):
    summary = run_quick("under_load")
    assert summary["benchmark"] == "under_load" and summary["quick"] is True
    assert summary["fair_share"] == {"1": (1 + summary["cores"]) / summary["cores"]}
    quiet, loaded = (summary["seconds"]["caviar"]["tune"][k][0] for k in ("0", "1"))
    assert 0 < quiet < float("inf") and 0 < loaded < float("inf")
    assert summary["slowdown_under_load"]["tune"]["1"] == loaded / quiet
