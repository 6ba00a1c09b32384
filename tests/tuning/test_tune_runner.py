"""End to end: caviar.tune / caviar tune on iris; outputs, predict, validation discipline."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest
from tune_helpers import iris_config, write_toml

import caviar
from caviar.cli.main import main
from caviar.errors import CaviarError
from caviar.tuning.runner import tune


def test_python_api_runs_and_ranks_by_validation(tmp_path):
    result = caviar.tune(iris_config(), out=tmp_path / "run")
    assert len(result.trials) == 8
    scores = [t["val_score"] for t in result.trials]
    assert scores == sorted(scores, reverse=True)
    assert result.val_score == scores[0]
    assert sum(result.counts.values()) == 8
    # the test split is scored on the final model, and matches a recomputation
    from caviar.api import load_data_for
    from caviar.config import validate_config

    cfg = dict(iris_config())
    cfg.pop("search")
    data = load_data_for([validate_config(cfg)])
    pred = result.model.predict_proba(data.X_test, preprocessed=True).argmax(axis=1)
    assert math.isclose(result.test_score, float(np.mean(pred == data.y_test)))
    # the final member's validation accuracy is the selected trial's
    pred_val = result.model.predict_proba(data.X_val, preprocessed=True).argmax(axis=1)
    assert math.isclose(result.val_score, float(np.mean(pred_val == data.y_val)), abs_tol=1e-9)


def test_cli_json_outputs_and_predict(tmp_path):
    cfg = write_toml(tmp_path / "t.toml", iris_config())
    out = tmp_path / "run"
    code = main(
        [
            "tune",
            str(cfg),
            "-o",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    info = json.loads((out / "summary.json").read_text())
    for key in (
        "best_params",
        "val_score",
        "test_score",
        "counts",
        "seconds",
        "baseline",
        "diagnosis",
    ):
        assert key in info
    assert info["counts"]["complete"] + info["counts"]["pruned"] >= 1
    assert info["diagnosis"]["verdict"] in ("not learning", "underfitting", "overfitting", "fine")
    assert (out / "study.db").is_file() and (out / "leaderboard.csv").is_file()
    import pandas as pd
    from sklearn.datasets import load_iris

    X = load_iris(as_frame=True).frame.drop(columns="target")
    X.to_csv(tmp_path / "x.csv", index=False)
    assert (
        main(
            ["predict", str(out / "model"), str(tmp_path / "x.csv"), "-o", str(tmp_path / "p.csv")]
        )
        == 0
    )
    preds = pd.read_csv(tmp_path / "p.csv")
    assert len(preds) == 150


def test_train_val_refit_and_ensemble(tmp_path):
    result = tune(iris_config(refit="train_val", ensemble_top_k=3, trials=8), out=tmp_path / "run")
    assert result.model.n_members >= 1
    assert result.model.n_members <= 3
    assert result.summary()["refit"] == "train_val"
    assert 0 <= result.test_score <= 1


@pytest.mark.parametrize(
    "search, message",
    [
        ({"trials": 0}, "search: trials"),
        ({"strategy": "bayes"}, "search: strategy"),
        ({"halving": {"min_epochs": 6}, "trials": 4}, "min_epochs 6 must be below train.epochs 6"),
        ({"halving": {}, "pbt": {}}, "halving and pbt cannot both"),
        ({"ensemble_top_k": 9}, "ensemble_top_k 9 is more than trials 8"),
        ({"space": {"optimizer.lr": {"log_uniform": [-1, 1]}}}, "positive bounds"),
        ({"space": {"optimizer.learning_rate": {"uniform": [0, 1]}}}, "unknown field path"),
        ({"space": {"model.hidden": {"choice": []}}}, "non-empty list"),
        ({"trials": None}, "needs trials or time_budget"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, search, message):
    cfg = iris_config(**search)
    if search.get("trials", 1) is None:
        cfg["search"].pop("trials")
    out = tmp_path / "run"
    with pytest.raises(CaviarError) as e:
        tune(cfg, out=out)
    assert message in str(e.value) and "\n" not in str(e.value)
    assert not out.exists()


def test_unopenable_storage_fails_cleanly(tmp_path):
    cfg = write_toml(tmp_path / "t.toml", iris_config())
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "from caviar.cli import main; raise SystemExit(main())",
            "tune",
            str(cfg),
            "-o",
            str(out),
            "--storage",
            "postgresql://nobody@127.0.0.1:1/none",
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot open storage"), proc.stderr
    assert not out.exists()


def test_rerun_without_resume_is_refused(tmp_path):
    out = tmp_path / "run"
    tune(iris_config(trials=2), out=out)
    with pytest.raises(CaviarError, match="--resume"):
        tune(iris_config(trials=2), out=out)


@pytest.mark.parametrize("strategy", ["coarse_to_fine", "tpe", "grid"])
def test_adaptive_and_grid_strategies_run_in_rounds(tmp_path, strategy):
    cfg = iris_config(strategy=strategy, trials=8, batch=4, grid_points=2)
    result = tune(cfg, out=tmp_path / "run")
    assert sorted(t["index"] for t in result.trials) == list(range(8))
    assert sorted({t["round"] for t in result.trials}) == [0, 1]


def test_time_budget_stops_between_populations(tmp_path):
    cfg = iris_config(trials=None, time_budget=0.5, batch=2, max_population=1)
    cfg["search"].pop("trials")
    result = tune(cfg, out=tmp_path / "run")
    assert 1 <= len(result.trials) < 50


def test_structural_choices_include_batch_norm_and_dropout(tmp_path):
    """Batch norm on/off is a structural choice (its own populations); dropout is per member."""
    from caviar.tuning.runner import tune

    cfg = iris_config(trials=8)
    cfg["search"]["space"]["model.batch_norm"] = {"choice": [True, False]}
    cfg["search"]["space"]["model.dropout"] = {"uniform": [0.0, 0.4]}
    result = tune(cfg, out=tmp_path / "run")
    summary = result.summary()
    assert isinstance(summary["best_params"]["model.batch_norm"], bool)
    assert 0.0 <= summary["best_params"]["model.dropout"] <= 0.4
    seen = {t["params"]["model.batch_norm"] for t in result.trials}
    assert len(seen) == 2  # both structures were trained
    assert result.counts["complete"] + result.counts["pruned"] == 8
