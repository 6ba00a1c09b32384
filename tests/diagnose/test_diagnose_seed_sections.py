"""The diagnosis's sections on initialization (:ref:`bg-initialization`) and boosted trees
(:ref:`bg-baselines`), in `caviar diagnose` and in the summaries of `caviar train` /
`caviar tune`."""

import json
import math

import pytest

from caviar.cli.main import main
from caviar.config import expand_configs
from caviar.data import prepare_data
from caviar.diagnose.report import diagnose
from caviar.diagnose.trees import tree_baseline


@pytest.fixture(scope="module")
def iris():
    return prepare_data("iris", seed=0)


def test_diagnose_reports_initial_loss_and_trees(iris):
    (cfg,) = expand_configs(
        {"data": {"source": "iris"}, "model": {"hidden": [6], "output_init": "default",
                                               "init": "normal", "init_scale": 3.0}}
    )  # fmt: skip
    report = diagnose(cfg, iris, epochs=2, lr_steps=10)
    init = report["initialization"]
    assert init["log_k"] == pytest.approx(math.log(3))
    assert init["initial_loss"] > 1.5 * math.log(3) and init["warnings"]
    trees = report["fit"]["trees"]
    assert trees["val_score"] == tree_baseline(iris)["val_score"]
    assert trees["verdict"] in (
        "a network is not the best tool here",
        "the network holds its own against boosted trees",
    )


def test_train_summary_lists_the_symmetric_initialization_warning(tmp_path):
    cfg = tmp_path / "zeros.toml"
    cfg.write_text(
        '[data]\nsource = "iris"\n[model]\nhidden = [4, 4]\ninit = ["zeros", "he_uniform"]\n'
        "[train]\nepochs = 2\n"
    )
    with pytest.warns(UserWarning, match="symmetric"):
        assert main(["train", str(cfg), "-o", str(tmp_path / "run"), "--json", "-q"]) == 0
    info = json.loads((tmp_path / "run" / "summary.json").read_text())
    (member,) = info["warnings"]
    assert "symmetric initialization" in info["warnings"][member][0]


def test_tune_summary_has_the_trees_verdict(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(
        '[data]\nsource = "iris"\n[model]\nhidden = [4]\n[train]\nepochs = 2\n'
        '[search]\nstrategy = "random"\ntrials = 2\n'
        '[search.space]\n"optimizer.lr" = { log_uniform = [1e-3, 1e-1] }\n'
    )
    assert main(["tune", str(path), "-o", str(tmp_path / "run"), "--json", "-q"]) == 0
    info = json.loads((tmp_path / "run" / "summary.json").read_text())
    trees = info["diagnosis"]["trees"]
    assert trees["name"] == "HistGradientBoostingClassifier" and "verdict" in trees


def test_train_run_keeps_the_gradient_monitor_and_its_figure(tmp_path):
    from caviar.report.gradient_monitor import gradient_monitor_figure

    cfg = tmp_path / "deep.toml"
    cfg.write_text(
        '[data]\nsource = "iris"\n[model]\nhidden = [6, 6, 6, 6, 6]\nactivation = "sigmoid"\n'
        'init = "glorot_uniform"\n[optimizer]\nname = "sgd"\nlr = 0.1\n[train]\nepochs = 3\n'
    )
    assert main(["train", str(cfg), "-o", str(tmp_path / "run"), "--json", "-q"]) == 0
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert any("vanishing" in w for w in summary["warnings"]["0"])
    diag = json.loads((tmp_path / "run" / "diagnostics.json").read_text())
    per_epoch = diag["0"]["gradients"]["per_epoch"]
    assert len(per_epoch) == 6 and all(len(s) == 3 for s in per_epoch)
    fig = gradient_monitor_figure(diag)
    assert len(fig.data) == 6 and list(fig.data[0].y) == per_epoch[0]
    assert "member 0" in fig.layout.title.text
