"""search.cv = k in caviar tune: configurations x folds in one population, ranked and
pruned by the fold mean, the final model refit on train+validation (issue 15 point 3)."""

import csv
import json
import sys
from pathlib import Path

import numpy as np
import optuna
import pytest
import torch

from caviar.cli import main
from caviar.config import validate_config
from caviar.data import prepare_data
from caviar.training.cross_validation import expand_folds
from caviar.training.refit import train_val_data
from caviar.training.trainer import PopulationTrainer
from caviar.tuning.halving import SuccessiveHalving
from caviar.tuning.runner import tune

sys.path.insert(0, str(Path(__file__).parent))
from tune_helpers import iris_config, write_toml  # noqa: E402


def _cv_config(**search):
    cfg = iris_config(**{"trials": 4, "cv": 3, **search})
    cfg["train"]["epochs"] = 5
    return cfg


def test_cli_tune_with_cv_writes_fold_means_everywhere(tmp_path, capsys):
    path = write_toml(tmp_path / "cv.toml", _cv_config())
    out = tmp_path / "run"
    assert main(["tune", str(path), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "3-fold cross-validation" in text and "over 3 folds" in text
    summary = json.loads((out / "summary.json").read_text())
    assert summary["cv"] == 3 and len(summary["cv_scores"]) == 3
    assert summary["val_score"] == pytest.approx(np.mean(summary["cv_scores"]))
    assert summary["cv_std"] == pytest.approx(np.std(summary["cv_scores"]))
    assert summary["refit"] == "train_val"
    rows = list(csv.DictReader((out / "leaderboard.csv").open()))
    assert len(rows) == 4
    for r in rows:
        folds = [float(r[f"fold_{f}"]) for f in (1, 2, 3)]
        assert float(r["val_score"]) == pytest.approx(np.mean(folds))
        assert float(r["cv_std"]) == pytest.approx(np.std(folds))
    study = optuna.load_study(study_name="cv", storage=f"sqlite:///{out / 'study.db'}")
    for t in study.trials:
        scores = t.user_attrs["cv_scores"]
        assert t.value == pytest.approx(np.mean(scores))
        assert t.user_attrs["cv_std"] == pytest.approx(np.std(scores))
        assert len(t.intermediate_values) == t.user_attrs["epochs_run"]
    assert "cv std" in (out / "report.html").read_text()
    assert (out / "model").is_dir()
    # --resume with a larger trial budget continues the same cross-validated study
    path.write_text(path.read_text().replace("trials = 4", "trials = 6"))
    assert main(["tune", str(path), "--out", str(out), "--resume"]) == 0
    study = optuna.load_study(study_name="cv", storage=f"sqlite:///{out / 'study.db'}")
    assert len(study.trials) == 6 and all("cv_scores" in t.user_attrs for t in study.trials)


def test_final_model_is_refit_for_the_mean_best_epoch_count(tmp_path):
    cfg = _cv_config(trials=2)
    cfg["train"]["patience"] = 2
    cfg["train"]["epochs"] = 30
    data = prepare_data("iris", seed=0)
    result = tune(cfg, out=tmp_path / "run", data=data, outputs=False)
    best = result.best
    member = validate_config(result.model.configs[0])
    assert member.train.fold is None and member.train.cv == 3
    assert result.model.metrics["refit"] == "train_val"
    # the final model: that configuration trained on all of train+validation, from
    # scratch, for best_epoch + 1 epochs (nothing held out: no early stopping)
    again = member.model_copy(deep=True)
    again.train.cv, again.train.patience = None, None
    again.train.epochs = best["best_epoch"] + 1
    trainer = PopulationTrainer([again], train_val_data(data))
    for epoch in range(trainer.epochs):
        trainer.epoch = epoch
        trainer.train_epoch()
    want = trainer.model.member_tensors(0)
    got = result.model.member_tensors[0]
    for name, tensor in want.items():
        torch.testing.assert_close(got[name], tensor)
    assert np.isfinite(result.test_score)


def test_halving_prunes_configurations_by_their_fold_mean():
    data = prepare_data("iris", seed=0)
    base = iris_config()
    lrs = [0.3, 0.003, 0.05, 0.0003]
    configs = []
    for lr in lrs:
        raw = {k: v for k, v in base.items() if k != "search"}
        raw = json.loads(json.dumps(raw))
        raw["optimizer"]["lr"] = lr
        raw["train"].update(epochs=4, patience=None)  # one rung: epoch 2
        configs.append(validate_config(raw))
    k = 3
    trainer = PopulationTrainer(
        expand_folds(configs, k), data, callbacks=[SuccessiveHalving(min_epochs=2, eta=2)]
    )
    trainer.run()
    pruned = trainer.pruned.reshape(len(lrs), k)
    # folds of one configuration are pruned together
    assert bool((pruned.all(dim=1) | ~pruned.any(dim=1)).all())
    assert int(pruned.all(dim=1).sum()) == 2
    # the survivors are the best by the fold mean of the best-so-far at the rung (epoch 2)
    curves = torch.stack(trainer.history["val_score"][:2]).reshape(2, len(lrs), k)
    best = curves.mean(dim=2).max(dim=0).values
    kept = set(torch.argsort(best, descending=True)[:2].tolist())
    assert kept == set((~pruned.all(dim=1)).nonzero().flatten().tolist())


@pytest.mark.parametrize(
    ("search", "train", "needle"),
    [
        ({"cv": 1}, {}, "cv: Input should be greater than or equal to 2, got 1"),
        ({"cv": 41}, {}, "search.cv = 41 folds: the smallest class has only 40 rows"),
        ({"cv": 3, "pbt": {"interval": 2}}, {}, "cv cannot be combined with pbt"),
        ({"cv": 3, "refit": "none"}, {}, "refit on train+validation"),
        ({"cv": 3}, {"cv": 4}, "search.cv 3 and train.cv 4 differ"),
    ],
)
def test_bad_cv_settings_are_one_line_errors(tmp_path, capsys, search, train, needle):
    cfg = _cv_config(**search)
    cfg["train"].update(train)
    path = write_toml(tmp_path / "bad.toml", cfg)
    out = tmp_path / "run"
    assert main(["tune", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0], err
    assert not out.exists()


def test_cli_cv_flag_overrides_search_cv(tmp_path, capsys):
    cfg = _cv_config(trials=2)
    del cfg["search"]["cv"]
    path = write_toml(tmp_path / "flag.toml", cfg)
    assert main(["tune", str(path), "--out", str(tmp_path / "run"), "--cv", "2", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["cv"] == 2 and len(summary["cv_scores"]) == 2
    assert main(["tune", str(path), "--out", str(tmp_path / "bad"), "--cv", "1"]) == 2
    assert "cv: Input should be greater than or equal to 2" in capsys.readouterr().err
