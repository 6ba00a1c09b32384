"""The Quickstart's study read by Optuna's own tools (issue 14's done-when test).

``examples/tune_digits.toml`` (fewer trials), run from Python like the CLI runs it:
``optuna.load_study`` sees one intermediate value per epoch run for every trial,
equal to the trial's own curve; real durations (a population's members start
together); the best trial's value is the leaderboard's; every
``optuna.visualization`` function returns a figure, and the ones that read
intermediate values or durations show every trial; optuna-dashboard's loader (when
installed: the ``dev`` extra) serves the study.
"""

import datetime
import io
import json
import math
import warnings
from pathlib import Path

import optuna
import pandas as pd
import pytest

import caviar

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "tune_digits.toml"


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    out = tmp_path_factory.mktemp("quickstart") / "run"
    result = caviar.tune(EXAMPLE, out=out, overrides={"trials": 12})
    study = optuna.load_study(study_name="tune_digits", storage=f"sqlite:///{out / 'study.db'}")
    return out, result, study


def test_the_run_directory_holds_what_the_cli_writes(quickstart):
    out, result, _ = quickstart
    for name in ("study.db", "leaderboard.csv", "summary.json", "report.html", "model"):
        assert (out / name).exists(), name
    assert result.outputs["report"] == str(out / "report.html")
    assert json.loads((out / "summary.json").read_text())["n_trials"] == 12


def test_every_epoch_is_an_intermediate_value_equal_to_the_curve(quickstart):
    _, result, study = quickstart
    curves = {t["index"]: t for t in result.trials}
    trials = study.get_trials()
    assert len(trials) == 12
    T = optuna.trial.TrialState
    assert {t.state for t in trials} <= {T.COMPLETE, T.PRUNED}
    assert any(t.state == T.PRUNED for t in trials) and any(t.state == T.COMPLETE for t in trials)
    for t in trials:
        rec = curves[t.user_attrs["index"]]
        steps = list(range(1, rec["epochs_run"] + 1))
        assert sorted(t.intermediate_values) == steps
        assert [t.intermediate_values[s] for s in steps] == rec["history"]["val_score"]
        assert len(t.user_attrs["curve:val_loss"]) == rec["epochs_run"]
        # the value is the score at the best epoch (lowest validation loss, whose weights
        # the trial ends with; 0-based best_epoch, 1-based steps): pruned trials keep it too
        assert t.value == t.intermediate_values[rec["best_epoch"] + 1] == rec["val_score"]
        assert t.user_attrs["status"] == rec["status"]


def test_durations_are_real_and_a_population_starts_together(quickstart):
    _, _, study = quickstart
    trials = study.get_trials()
    assert all(t.duration > datetime.timedelta(0) for t in trials)
    by_population: dict[tuple, list] = {}
    for t in trials:
        by_population.setdefault(tuple(t.user_attrs["population"]), []).append(t)
    for members in by_population.values():
        assert len({t.datetime_start for t in members}) == 1
        ordered = sorted(members, key=lambda t: t.user_attrs["epochs_run"])
        ends = [t.datetime_complete for t in ordered]
        assert ends == sorted(ends)  # a member that ran longer ended later
        if ordered[0].user_attrs["epochs_run"] < ordered[-1].user_attrs["epochs_run"]:
            assert ends[0] < ends[-1]


def test_the_best_trial_is_the_leaderboards(quickstart):
    out, result, study = quickstart
    board = pd.read_csv(out / "leaderboard.csv")
    top = board.iloc[0]
    assert study.best_trial.value == top["val_score"] == result.val_score
    best_score = board[board["val_score"] == top["val_score"]]
    assert study.best_trial.user_attrs["index"] in set(best_score["trial"])


def test_every_optuna_visualization_returns_a_figure_showing_every_trial(quickstart):
    import plotly.graph_objects as go
    from optuna import visualization as vis

    _, _, study = quickstart
    n = len(study.trials)
    names = [
        "plot_contour",
        "plot_edf",
        "plot_hypervolume_history",
        "plot_intermediate_values",
        "plot_optimization_history",
        "plot_parallel_coordinate",
        "plot_param_importances",
        "plot_pareto_front",
        "plot_rank",
        "plot_slice",
        "plot_terminator_improvement",
        "plot_timeline",
    ]
    single_objective = {"plot_hypervolume_history", "plot_pareto_front"}  # multi-objective
    public = {n for n in dir(vis) if n.startswith("plot_")}
    assert public <= set(names), public - set(names)  # a new plot is added here
    for name in sorted(public - single_objective):
        with warnings.catch_warnings():  # the terminator plot is experimental in Optuna
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            fig = getattr(vis, name)(study)
        assert isinstance(fig, go.Figure), name
        assert fig.data, name
    lines = vis.plot_intermediate_values(study).data
    assert sorted(trace.name for trace in lines) == sorted(f"Trial{t.number}" for t in study.trials)
    bars = vis.plot_timeline(study).data
    shown = [y for trace in bars for y in trace.y]
    assert sorted(shown) == sorted(t.number for t in study.trials) and len(shown) == n
    assert {trace.name for trace in bars} == {"COMPLETE", "PRUNED"}
    # the terminator's regret bound (a GP over the complete trials) is drawn at every
    # trial from the first complete one on, pruned ones included
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        improvement = vis.plot_terminator_improvement(study).data[0]
    T = optuna.trial.TrialState
    first = min(t.number for t in study.trials if t.state == T.COMPLETE)
    assert list(improvement.x) == [t.number for t in study.trials if t.number >= first]
    assert all(math.isfinite(v) and v >= 0 for v in improvement.y)


def test_optuna_dashboard_serves_the_study(quickstart):
    """optuna-dashboard's own loader (its public ``wsgi(storage_url)``, what the
    ``optuna-dashboard`` command serves) answers its API for the study: the trials with
    their intermediate values and user attributes."""
    pytest.importorskip("optuna_dashboard", reason="optuna-dashboard (dev extra) not installed")
    from wsgiref.util import setup_testing_defaults

    from optuna_dashboard import wsgi

    out, _, study = quickstart
    app = wsgi(f"sqlite:///{out / 'study.db'}")

    def get(path: str) -> dict:
        env = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "wsgi.input": io.BytesIO()}
        setup_testing_defaults(env)
        status = []
        body = b"".join(app(env, lambda s, h, *a: status.append(s)))
        assert status[0].startswith("200"), (path, status, body[:200])
        return json.loads(body)

    studies = get("/api/studies")["study_summaries"]
    assert [s["study_name"] for s in studies] == ["tune_digits"]
    detail = get(f"/api/studies/{studies[0]['study_id']}")
    assert len(detail["trials"]) == len(study.trials) and detail["has_intermediate_values"]
    for t, ref in zip(detail["trials"], study.trials, strict=True):
        assert len(t["intermediate_values"]) == len(ref.intermediate_values)
        keys = {a["key"] for a in t["user_attrs"]}
        assert {"index", "status", "epochs_run", "curve:val_loss"} <= keys
    assert not math.isnan(detail["best_trials"][0]["values"][0])


def test_caviar_dashboard_serves_the_runs_own_study(quickstart, tmp_path):
    """``caviar dashboard RUN_DIR`` (a real process on a free loopback port) serves the
    run's study: optuna-dashboard's API lists it with every trial; ``--print-url`` gives
    the absolute ``sqlite:///`` URL from any working directory."""
    pytest.importorskip("optuna_dashboard", reason="optuna-dashboard (dev extra) not installed")
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    out, _, study = quickstart
    caviar_cli = [sys.executable, "-m", "caviar"]
    url = subprocess.run(
        [*caviar_cli, "dashboard", str(out), "--print-url"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert url == f"sqlite:///{out.resolve() / 'study.db'}"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [*caviar_cli, "dashboard", str(out), "--port", str(port)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline, body = time.monotonic() + 60, None
        while body is None and time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/studies") as r:
                    body = json.loads(r.read())
            except OSError:
                time.sleep(0.3)
        assert body is not None, server.stdout.read1().decode() if server.poll() else "no answer"
        studies = body["study_summaries"]
        assert [s["study_name"] for s in studies] == ["tune_digits"]
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/api/studies/{studies[0]['study_id']}"
        ) as r:
            assert len(json.loads(r.read())["trials"]) == len(study.trials)
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_caviar_dashboard_refuses_what_is_no_tune_run(tmp_path, capsys):
    from caviar.cli import main

    assert main(["dashboard", str(tmp_path / "missing")]) == 2
    assert "no such run directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["dashboard", str(tmp_path / "empty"), "--print-url"]) == 2
    assert "holds no study" in capsys.readouterr().err


def test_caviar_dashboard_serves_with_sigterm_at_its_default(quickstart, monkeypatch):
    """While the server runs, SIGTERM has its default action (the process ends at once,
    whatever threads the server started); the CLI's handler is back afterwards."""
    pytest.importorskip("optuna_dashboard", reason="optuna-dashboard (dev extra) not installed")
    import signal

    import optuna_dashboard

    from caviar.cli.main import main

    seen = []

    def fake_server(*args, **kwargs):
        seen.append(signal.getsignal(signal.SIGTERM))

    monkeypatch.setattr(optuna_dashboard, "run_server", fake_server)
    out, _, _ = quickstart
    before = signal.getsignal(signal.SIGTERM)
    assert main(["dashboard", str(out), "--port", "8765"]) == 0
    assert seen == [signal.SIG_DFL]
    assert signal.getsignal(signal.SIGTERM) == before
