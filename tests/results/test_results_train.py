"""``caviar.train`` results as objects, ``out=`` through the CLI's writer, progress."""

import logging

import pandas as pd
import plotly.graph_objects as go
import pytest

import caviar
from caviar.data import prepare_data

CONFIG = {
    "data": {"source": "iris", "seed": 0},
    "model": {"hidden": [8]},
    "optimizer": {"name": "sgd", "lr": [0.01, 0.1, 0.5]},
    "train": {"epochs": 4, "batch_size": 16},
}


@pytest.fixture(scope="module")
def data():
    return prepare_data("iris", seed=0)


def test_train_frames_best_params_and_plots(data):
    run = caviar.train(CONFIG, data=data, verbose=0)
    frame = run.members_dataframe()
    assert frame["number"].tolist() == [0, 1, 2]
    assert frame["params_optimizer.lr"].tolist() == [0.01, 0.1, 0.5]
    assert frame.set_index("number")["value"].to_dict() == {
        m.index: pytest.approx(m.val_score) for m in run.members
    }
    assert run.best_params == {"optimizer.lr": run.best.config.optimizer.lr}
    assert run.best_value == run.best.val_score
    hist = run.history
    assert len(hist) == sum(m.epochs_run for m in run.members)
    assert run.study.best_trial.user_attrs["index"] == run.best.index
    for name in ("plot_optimization_history", "plot_learning_curves", "plot_parallel_coordinate"):
        fig = getattr(run, name)()
        assert isinstance(fig, go.Figure) and len(fig.data) > 0
    text = repr(run)
    assert text.startswith("TrainRun(members=3") and len(text) < 400


def test_train_out_writes_the_cli_outputs(tmp_path, data):
    out = tmp_path / "run"
    run = caviar.train(CONFIG, data=data, out=out, verbose=0)
    for name in ("model", "leaderboard.csv", "history.csv", "summary.json", "report.html"):
        assert (out / name).exists(), name
    board = pd.read_csv(out / "leaderboard.csv")
    assert board["member"].tolist() == [m.index for m in run.members]
    assert board.iloc[0]["optimizer.lr"] == run.best_params["optimizer.lr"]
    assert run.run_dir == out and run.outputs["report"] == str(out / "report.html")
    # an existing run is never overwritten without overwrite=True (nothing trained first)
    with pytest.raises(caviar.CaviarError, match="already exists"):
        caviar.train(CONFIG, data=data, out=out, verbose=0)
    again = caviar.train(CONFIG, data=data, out=out, verbose=0, overwrite=True)
    assert again.best_params == run.best_params


def test_verbose_draws_the_bar_and_zero_prints_nothing(capsys, caplog, data):
    cfg = {**CONFIG, "optimizer": {"name": "sgd", "lr": [0.01, 0.1]}}
    with caplog.at_level(logging.INFO, logger="caviar"):
        caviar.train(cfg, data=data, verbose=1)
    err = capsys.readouterr().err
    assert "population 1/1 (P=2)" in err and "4/4" in err and "best val" in err
    assert any("population 1 finished" in r.message for r in caplog.records)
    assert any("train done" in r.message for r in caplog.records)
    caviar.train(cfg, data=data, verbose=0)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_tune_verbose_draws_the_trial_bar(capsys, tmp_path, data):
    cfg = {
        **CONFIG,
        "optimizer": {"name": "sgd"},
        "search": {"trials": 3, "seed": 0, "space": {"optimizer.lr": {"log_uniform": [1e-3, 1]}}},
    }
    caviar.tune(cfg, data=data, out=tmp_path / "a", outputs=False)
    err = capsys.readouterr().err
    assert "trials" in err and "3/3" in err and "ETA" in err
    caviar.tune(cfg, data=data, out=tmp_path / "b", outputs=False, verbose=0)
    assert capsys.readouterr().err == ""


def test_estimators_verbose_draws_the_fit_bar(capsys):
    from sklearn.datasets import load_iris

    from caviar.sklearn import CaviarClassifier

    X, y = load_iris(return_X_y=True)
    CaviarClassifier((8,), epochs=3, random_state=0, verbose=1).fit(X, y)
    err = capsys.readouterr().err
    assert "CaviarClassifier" in err and "3/3" in err and "best val" in err
    CaviarClassifier((8,), epochs=3, random_state=0).fit(X, y)  # verbose=0, the default
    assert capsys.readouterr().err == ""


def test_in_jupyter_the_bars_need_ipywidgets_else_they_print_once(monkeypatch):
    import importlib.util

    import rich.console

    from caviar.progress import make_console

    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)  # as inside a notebook
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "ipywidgets" else real(n, *a)
    )
    assert not make_console().is_jupyter  # no ipywidgets: a plain stream, no warnings
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: object())
    assert make_console().is_jupyter  # with it: rich's live notebook output
