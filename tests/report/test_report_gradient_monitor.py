"""The gradient monitor (vanishing and exploding gradients per member,
:ref:`bg-vanishing-gradients`) in report.html: train runs draw diagnostics.json, tune runs
the norms each trial stores."""

import json

import optuna

from caviar.report.data import load_run
from caviar.report.gradient_monitor import gradient_monitor_figure, run_gradients
from caviar.training.gradient_monitor import thinned


def test_a_train_report_has_the_gradient_monitor_section(train_run):
    text = (train_run / "report.html").read_text()
    assert '<section id="gradients"><h2>Gradient monitor</h2>' in text
    assert 'href="#gradients"' in text
    run = load_run(train_run)
    diag = json.loads((train_run / "diagnostics.json").read_text())
    ordered = run_gradients(run)
    assert set(ordered) == set(diag)
    flagged = [m for m, d in ordered.items() if any(
        w.startswith(("vanishing", "exploding")) for w in d["warnings"])]  # fmt: skip
    assert flagged and list(ordered)[: len(flagged)] == flagged  # lr = 30 diverged: first
    fig = gradient_monitor_figure(ordered)
    assert f"member {flagged[0]}" in fig.layout.title.text
    assert list(fig.data[0].y) == ordered[flagged[0]]["gradients"]["per_epoch"][0]


def test_a_tune_report_has_the_gradient_monitor_of_its_trials(tune_run):
    text = (tune_run / "report.html").read_text()
    assert '<section id="gradients"><h2>Gradient monitor</h2>' in text
    run = load_run(tune_run)
    stored = {t.user_attrs["index"]: t.user_attrs["gradients"] for t in run.study.get_trials()
              if t.state.is_finished()}  # fmt: skip
    # each trial stored the norms of every epoch it ran (a pruned one fewer), per layer
    epochs_run = {t.user_attrs["index"]: t.user_attrs["epochs_run"] for t in run.study.get_trials()}
    for index, g in stored.items():
        assert len(g["per_epoch"]) == 2  # input->hidden, hidden->output kernels
        assert g["epochs"] == list(range(1, len(g["per_epoch"][0]) + 1))
        assert len(g["epochs"]) >= epochs_run[index]
        assert all(v > 0 for v in g["per_epoch"][0][: epochs_run[index]])
    ordered = run_gradients(run)
    best = int(run.trials["id"].iloc[0])
    assert list(ordered)[0] == str(best)  # no warnings here: the best trial first
    fig = gradient_monitor_figure(ordered, who="trial")
    assert fig.data[0].name == f"trial {best}, layer 0"
    # the report's clean log axis (labels in values, no "2 5 2 5" minor digits) and style
    from caviar.report.style import tick_label

    y = fig.layout.yaxis
    assert y.type == "log" and 0 < len(y.tickvals) <= 8
    assert list(y.ticktext) == [tick_label(t) for t in y.tickvals]
    assert fig.layout.template.layout.plot_bgcolor == "white"
    assert isinstance(run.study, optuna.Study)


def test_thinned_keeps_at_most_the_limit_with_first_and_last_epochs():
    per_epoch = [[float(t) for t in range(1000)], [2.0 * t for t in range(1000)]]
    g = thinned(per_epoch, at_most=100)
    assert len(g["epochs"]) == 100 and g["epochs"][0] == 1 and g["epochs"][-1] == 1000
    assert g["per_epoch"][1] == [2.0 * (e - 1) for e in g["epochs"]]
    assert thinned([[1.0, 2.0]]) == {"epochs": [1, 2], "per_epoch": [[1.0, 2.0]]}
    assert thinned([]) is None
