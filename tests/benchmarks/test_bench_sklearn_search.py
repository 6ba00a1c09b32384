"""Smoke test: benchmarks/sklearn_search.py --quick runs and ends with its JSON line."""


def test_sklearn_search_benchmark_quick(run_quick):
    result = run_quick("sklearn_search")
    assert result["benchmark"] == "sklearn_search"
    assert result["n_candidates"] == 4 and result["n_folds"] == 2
    assert result["caviar_seconds"] > 0 and result["sklearn_seconds"] > 0
    ratio = result["sklearn_seconds"] / result["caviar_seconds"]
    assert abs(result["speed_ratio"] - ratio) <= 1e-9 * ratio
    assert result["same_keys"] is True
    assert 0 < result["caviar_best_score"] <= 1 and 0 < result["sklearn_best_score"] <= 1
    assert result["max_abs_mean_score_diff"] < 1e-6
    # its peer drives CaviarClassifier, so it imports caviar; still its own process
    assert result["peer_settings"]["sklearn"] in ({"n_jobs": 1}, {"n_jobs": 2})
    assert [t["setting"] for t in result["peer_tries"]["sklearn"]] == [{"n_jobs": 1}, {"n_jobs": 2}]
