"""The CLI startup benchmark runs and ends with one JSON line carrying its times."""


def test_cli_startup_benchmark_quick(run_quick):
    result = run_quick("cli_startup")
    medians = result["median_seconds"]
    for name in ("caviar --help", "caviar tune --help", "caviar tune --no-such-flag"):
        assert medians[name] > 0
    assert result["help_seconds"] == max(medians["caviar --help"], medians["caviar tune --help"])
    assert result["speedup_vs_eager_imports"] > 0 and result["target_seconds"] == 1.0
