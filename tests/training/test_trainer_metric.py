"""train.metric in the trainer: the validation score, early stopping, best-epoch restore,
the test score, baseline and verdict follow the named metric (checked with sklearn)."""

import copy

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

import caviar
from caviar.config import validate_config
from caviar.data import prepare_arrays
from caviar.errors import CaviarError
from caviar.training.evaluate import predict_outputs
from caviar.training.trainer import PopulationTrainer


def _imbalanced(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    logit = 1.5 * X[:, 0] - X[:, 1] + 0.8 * X[:, 2] * X[:, 3] - 2.8
    y = (rng.uniform(size=n) < 1 / (1 + np.exp(-logit))).astype(int)
    return prepare_arrays(X, y, seed=seed)


def _configs(metric, lrs=(0.003, 0.03, 0.3), **train):
    base = {
        "data": {"source": "in-memory"},
        "model": {"hidden": [8]},
        "train": {"epochs": 12, "batch_size": 32, "patience": 3, "dtype": "float64",
                  "metric": metric, **train},
    }  # fmt: skip
    out = []
    for lr in lrs:
        cfg = copy.deepcopy(base)
        cfg["optimizer"] = {"name": "adam", "lr": lr}
        out.append(validate_config(cfg))
    return out


def _val_proba(trainer):
    out = predict_outputs(trainer.model, trainer.tensors.x_val, slope=trainer.knobs.leaky_slope)
    return torch.softmax(out, dim=-1).numpy()


def test_roc_auc_scores_stops_and_restores_on_the_metric():
    data = _imbalanced()
    trainer = PopulationTrainer(_configs("roc_auc"), data)
    result = trainer.run()
    hist = result.history["val_score"]  # (epochs, P)
    proba = _val_proba(trainer)  # best weights restored
    for p, m in enumerate(result.members):
        ran = hist[: m.epochs_run, p]
        # the best epoch is the first maximum of the metric (not of the loss)
        assert m.best_epoch == int(np.argmax(ran))
        assert m.val_score == ran.max()
        # the restored member's validation ROC AUC is sklearn's
        assert m.val_score == pytest.approx(
            skm.roc_auc_score(data.y_val, proba[p, :, 1]), abs=1e-12
        )
        # stopped after patience epochs without a better AUC (or ran every epoch)
        assert m.epochs_run == 12 or m.epochs_run - 1 - m.best_epoch == 3
        # the accuracy (default score) is kept beside it
        assert 0 < m.val_default_score <= 1


def test_member_in_a_population_scores_as_alone():
    data = _imbalanced()
    together = PopulationTrainer(_configs("f1_macro"), data).run()
    for p, cfg in enumerate(_configs("f1_macro")):
        alone = PopulationTrainer([cfg], data).run()
        np.testing.assert_allclose(
            together.history["val_score"][: alone.members[0].epochs_run, p],
            alone.history["val_score"][:, 0],
            rtol=1e-10,
        )
        assert together.members[p].best_epoch == alone.members[0].best_epoch


def test_train_score_is_the_metric_of_the_trained_batches():
    data = _imbalanced()
    result = PopulationTrainer(_configs("log_loss", lrs=(0.01,), patience=None), data).run()
    train = result.history["train_score"][:, 0]
    assert (train < 0).all()  # neg_log_loss
    assert train[-1] > train[0]  # it learns


def test_api_test_score_baseline_and_names_use_the_metric(tmp_path):
    data = _imbalanced()
    run = caviar.train(_configs("balanced_accuracy"), data=data)
    pred = run.best_model.predict_proba(data.X_test, preprocessed=True).argmax(axis=1)
    assert run.test_score == pytest.approx(skm.balanced_accuracy_score(data.y_test, pred))
    from caviar.diagnose.baseline import naive_baseline

    base = naive_baseline(data, "balanced_accuracy")
    assert base["val_score"] == 0.5  # a constant class: recall 1 on one class, 0 on the other
    auc = naive_baseline(data, "roc_auc")
    assert auc["val_score"] == 0.5
    prior = np.bincount(data.y_train, minlength=2) / len(data.y_train)
    ll = naive_baseline(data, "log_loss")
    want = -skm.log_loss(data.y_val, np.tile(prior, (len(data.y_val), 1)), labels=[0, 1])
    assert ll["val_score"] == pytest.approx(want, rel=1e-12)


def test_regression_rmse_and_verdict_scale():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 4))
    y = 10 * X[:, 0] - 5 * X[:, 1] + rng.normal(size=300)
    data = prepare_arrays(X, y, seed=0)
    cfgs = _configs("rmse", lrs=(0.01, 0.05))
    run = caviar.train(cfgs, data=data)
    out = run.best_model.outputs(data.X_test).mean(axis=0)[:, 0]
    assert run.test_score == pytest.approx(-skm.root_mean_squared_error(data.y_test, out))
    from caviar.diagnose.verdict import verdict

    v = verdict(-1.0, -1.05, -10.0, perfect=0.0)
    assert v["verdict"] == "fine"  # gap 0.05 < 5% of the baseline's error 10
    assert verdict(-1.0, -2.0, -10.0, perfect=0.0)["verdict"] == "overfitting"
    assert verdict(-9.95, -9.95, -10.0, perfect=0.0)["verdict"] == "not learning"


def test_metric_for_the_wrong_task_fails_before_training():
    with pytest.raises(CaviarError, match="metric 'rmse' is for regression"):
        caviar.train(_configs("rmse"), data=_imbalanced())
