"""A search run from Python, read as objects (issue 25's done-when): one row per trial in
``trials_dataframe()`` with the study's values, ``best_params`` the leaderboard's first
row, every ``plot_*`` a figure with data (from the result and from the run directory),
``report()`` a page, and the one trial record everywhere."""

import json
import math

import optuna
import pandas as pd
import plotly.graph_objects as go
import pytest

import caviar
from caviar import plots
from caviar.results.frames import decode_choice
from caviar.results.outputs import leaderboard
from caviar.trial import Trial

CONFIG = {
    "data": {"source": "iris", "seed": 0},
    "model": {"hidden": [8]},
    "optimizer": {"name": "adam"},
    "train": {"epochs": 6, "batch_size": 16},
    "search": {
        "strategy": "coarse_to_fine",  # two rounds: the rounds figure has data
        "trials": 8,
        "batch": 4,
        "seed": 0,
        "halving": {"min_epochs": 2, "eta": 2},  # pruned trials too
        "space": {
            "optimizer.lr": {"log_uniform": [1e-3, 3e-1]},
            "model.hidden": {"choice": [[8], [16]]},
            "train.patience": {"int_uniform": [3, 10]},
        },
    },
}
PLOTS = (
    "plot_optimization_history",
    "plot_learning_curves",
    "plot_score_curves",
    "plot_param_importances",
    "plot_parallel_coordinate",
    "plot_contour",
    "plot_rounds",
    "plot_params",
    "plot_halving",
)


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    out = tmp_path_factory.mktemp("search") / "run"
    return caviar.tune(CONFIG, out=out, verbose=0), out


def test_trials_dataframe_has_one_row_per_trial_with_the_studys_values(searched):
    result, out = searched
    frame = result.trials_dataframe()
    study = optuna.load_study(study_name=result.plan.name, storage=f"sqlite:///{out / 'study.db'}")
    stored = {t.user_attrs["index"]: t for t in study.get_trials()}
    assert len(frame) == len(stored) == len(result.trials) == 8
    assert frame["number"].tolist() == sorted(stored)
    for _, row in frame.iterrows():
        t = stored[row["number"]]
        want = t.value if t.value is not None else math.nan
        assert row["value"] == pytest.approx(want, nan_ok=True)
        assert row["state"] == t.user_attrs["status"]
        assert row["epochs_run"] == t.user_attrs["epochs_run"]
        assert row["seconds"] > 0
        # list-valued choices are stored as JSON text and shown as lists
        assert row["params_model.hidden"] == json.loads(t.params["model.hidden"])
        assert isinstance(row["params_model.hidden"], list)
    assert {"pruned", "complete"} <= set(frame["state"])
    own = {t.user_attrs["index"]: t.value for t in result.study.trials}  # the run's study
    assert own == {i: t.value for i, t in stored.items()}


def test_best_params_equal_the_leaderboards_first_row(searched):
    result, out = searched
    board = pd.read_csv(out / "leaderboard.csv")
    first = board.iloc[0]
    assert result.best_trial is result.best and result.best_trial.number == first["trial"]
    assert result.best_value == pytest.approx(first["val_score"])
    assert set(result.best_params) == {"optimizer.lr", "model.hidden", "train.patience"}
    for name, value in result.best_params.items():
        cell = first[name]
        assert (decode_choice(cell) if isinstance(cell, str) else cell) == pytest.approx(value)
    assert result.best_params == result.summary()["best_params"]
    in_memory = leaderboard(result).iloc[0]
    assert in_memory["model.hidden"] == result.best_params["model.hidden"]
    assert result.best_model is result.model


def test_every_plot_is_a_figure_with_data_from_the_result_and_the_run_dir(searched):
    result, out = searched
    for name in PLOTS:
        for source in (result, out):
            fig = getattr(plots, name)(source)
            assert isinstance(fig, go.Figure), name
            assert len(fig.data) > 0, (name, source)
        assert len(getattr(result, name)().data) == len(getattr(plots, name)(out).data)


def test_plot_functions_refuse_what_is_not_a_run_and_draw_an_empty_figure_else(tmp_path):
    with pytest.raises(caviar.CaviarError, match="cannot plot a dict"):
        plots.plot_rounds({})
    with pytest.raises(caviar.CaviarError, match="no such directory"):
        plots.plot_rounds(tmp_path / "missing")


def test_history_is_long_per_trial_and_epoch(searched):
    result, _ = searched
    history = result.history
    assert {"trial", "epoch", "val_score", "train_loss"} <= set(history.columns)
    for t in result.trials:
        rows = history[history["trial"] == t.number]
        assert rows["epoch"].tolist() == list(range(1, t.epochs_run + 1))
        assert rows["val_score"].tolist() == pytest.approx(t.history["val_score"], nan_ok=True)


def test_report_writes_a_page(searched, tmp_path):
    result, _ = searched
    path = result.report(tmp_path / "page.html")
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>") and 'id="leaderboard"' in text
    assert "Hyperparameter importance" in text and "Contours" in text


def test_short_repr_without_arrays(searched):
    result, _ = searched
    text = repr(result)
    assert text.startswith("TuneResult(trials=8") and len(text) < 400
    assert "tensor" not in text and "array" not in text
    assert "<table>" in result._repr_html_()


def test_one_trial_record_type_everywhere(searched):
    result, out = searched
    assert all(type(t) is Trial for t in result.trials) and type(result.best) is Trial
    run = caviar.train(
        {"data": {"source": "iris", "seed": 0}, "optimizer": {"lr": [0.01, 0.1]},
         "train": {"epochs": 2}}, verbose=0,
    )  # fmt: skip
    assert all(type(t) is Trial for t in run.trials) and type(run.best_trial) is Trial
    # the storage reads back the same records; the leaderboard and report read them
    from caviar.tuning.storage import TrialStore

    store = TrialStore(f"sqlite:///{out / 'study.db'}", result.plan.name, create=False)
    try:
        back = {t.number: t for t in store.finished_trials()}
    finally:
        store.close()
    assert all(type(t) is Trial for t in back.values())
    # the report and the figures read the same records
    from caviar.report.data import load_run

    report_run = load_run(out)
    assert [type(t) for t in report_run.records] == [Trial] * 8
    assert {t.number for t in report_run.records} == set(back)
    assert all(type(t) is Trial for t in plots.run_data(run).records)
    assert {t.number: t.value for t in result.trials} == pytest.approx(
        {n: t.value for n, t in back.items()}, nan_ok=True
    )
