"""The population benchmark runs and ends with one JSON line carrying its ratios."""


def test_population_benchmark_quick(run_quick):
    result = run_quick("population")
    for key in ("speedup_vs_torch_sequential", "speedup_vs_sklearn", "fraction_of_gemm_peak"):
        assert result[key] > 0
    for name in ("caviar", "torch_sequential", "sklearn"):
        low, high = result["val_accuracy_range"][name]
        assert 0 <= low <= high <= 1
    # The bound is the matrix products at 100% of the peak: no run can beat it.
    assert 0 < result["flop_bound_seconds"] < result["seconds"]["caviar"]
    assert (
        result["max_speedup_vs_torch_sequential_at_peak"] >= result["speedup_vs_torch_sequential"]
    )
    # issue 30: every peer in its own process, caviar never imported, none of Caviar's
    # variables, the best of the documented settings (named), the plain loop beside it
    for name, check in result["peer_processes"].items():
        assert check["own_process"] is True and check["caviar_modules"] == [], name
        assert not [k for k in check["environment"] if k.startswith("CAVIAR_")], name
    settings = result["peer_settings"]
    assert settings["torch_sequential"] in ({"threads": 1}, {"threads": 2})
    assert settings["sklearn"] in ({"n_jobs": 1}, {"n_jobs": 2})
    tries = result["peer_tries"]["torch_sequential"]
    assert [t["setting"] for t in tries] == [{"threads": 1}, {"threads": 2}]
    assert result["seconds"]["torch_sequential"] == round(min(t["seconds"] for t in tries), 3)
    assert result["torch_loop_vs_plain_loop"] > 0


def test_population_benchmark_bf16_side_by_side():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "population.py"
    spec = importlib.util.spec_from_file_location("bench_population", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    result = mod.main(["--quick", "--precision", "bf16"])
    assert result["speedup_bf16_vs_fp32"] > 0 and result["bf16_gemm_peak_gflops"] > 0
    assert -100 <= result["accuracy_gap_points"] <= 100
    low, high = result["val_accuracy_range"]["caviar_bf16"]
    assert 0 <= low <= high <= 1
