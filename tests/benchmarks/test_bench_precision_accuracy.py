"""Smoke test: benchmarks/precision_accuracy.py --quick compares fp32 and bf16 on digits and
the synthetic signal set and ends with one JSON line."""


def test_precision_accuracy_quick(run_quick):
    summary = run_quick("precision_accuracy")
    assert summary["benchmark"] == "precision_accuracy" and summary["quick"] is True
    assert set(summary["accuracy_gap_points"]) == {"digits", "signal"}
    for source, (fp32, bf16) in summary["median_val"].items():
        assert 0 <= fp32 <= 1 and 0 <= bf16 <= 1, source
        assert abs(summary["accuracy_gap_points"][source]) <= 100
        assert summary["max_abs_gap_points"][source] >= 0
