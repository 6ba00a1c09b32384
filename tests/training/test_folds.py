"""Cross-validation folds as members of one population (caviar.training.folds).

The done-when of issue 15 point 3: ``cv = 5`` gives the same fold scores as training
each fold alone. Each fold member of a population of configurations x folds is
compared, in float64, with a one-member population trained on that fold's data
(``caviar.data.folds.fold_data``) by the ordinary trainer.
"""

import numpy as np
import pytest
import torch
from tests.training.fold_helpers import fold_test_data, pool_balance, run_epochs

from caviar.config import validate_config
from caviar.data.folds import check_cv, cv_splits, fold_data
from caviar.errors import CaviarError
from caviar.training.cross_validation import expand_folds
from caviar.training.trainer import PopulationTrainer
from caviar.tuning.cross_validation import fold_records

K = 5


_data = fold_test_data


def _cfg(lr, **extra):
    train = {"epochs": 6, "batch_size": 16, "patience": None, "dtype": "float64"}
    model = {"hidden": [7]}
    model.update(extra.pop("model", {}))
    train.update(extra.pop("train", {}))
    return validate_config(
        {
            "data": {"source": "in-memory", "seed": 3},
            "model": model,
            "optimizer": {"name": "adam", "lr": lr},
            "train": train,
            **extra,
        }
    )


@pytest.mark.parametrize(
    ("task", "extra"),
    [
        ("classification", {}),
        ("classification", {"model": {"dropout": 0.2}, "train": {"sampling": "shuffle"}}),
        ("classification", {"train": {"metric": "f1_macro", "class_weight": "balanced"}}),
        ("regression", {"model": {"batch_norm": True}}),
    ],
)
def test_each_fold_member_equals_its_fold_trained_alone(task, extra):
    data = _data(task)
    configs = [_cfg(0.01, **extra), _cfg(0.05, **extra)]
    pop = run_epochs(PopulationTrainer(expand_folds(configs, K), data))
    _, val_rows = cv_splits(data.train_val()[1], K, task, 3)
    for c, cfg in enumerate(configs):
        for f in range(K):
            alone_data = fold_data(data, K, f, 3)
            if extra.get("train", {}).get("class_weight"):
                # balanced weights count the classes of all of train+validation (documented)
                alone_data.w_train = pool_balance(data)[
                    np.setdiff1d(np.arange(len(data.train_val()[1])), val_rows[f])
                ]
                alone_data.w_val = pool_balance(data)[val_rows[f]]
                cfg_alone = cfg.model_copy(deep=True)
                cfg_alone.train.class_weight = None
            else:
                cfg_alone = cfg
            alone = run_epochs(PopulationTrainer([cfg_alone], alone_data))
            p = c * K + f
            for key in ("train_loss", "train_score", "val_loss", "val_score"):
                got = torch.stack(pop.history[key])[:, p]
                want = torch.stack(alone.history[key])[:, 0]
                torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12, msg=key)
            torch.testing.assert_close(
                pop.model.flat[p], alone.model.flat[0], rtol=1e-9, atol=1e-11
            )


def test_folds_hold_out_every_row_once_stratified():
    y = np.repeat([0, 1, 2], [50, 31, 22])
    train, val = cv_splits(y, K, "classification", 0)
    n, m = len(y), len(y) // K
    # fold sizes as scikit-learn's: the first N mod k folds one row larger
    sizes = [m + 1] * (n % K) + [m] * (K - n % K)
    assert [len(v) for v in val] == sizes and [len(t) for t in train] == [n - s for s in sizes]
    flat = np.concatenate(val)
    assert len(np.unique(flat)) == flat.size  # every row held out at most once
    assert flat.size == n  # and none left out: every row is validated exactly once
    for t, v in zip(train, val, strict=True):
        assert not set(t) & set(v) and len(set(t) | set(v)) == len(y)
        assert abs(np.mean(y[v] == 2) - 22 / len(y)) < 0.06  # stratified
    again, _ = cv_splits(y, K, "classification", 0)
    for a, b in zip(train, again, strict=True):
        np.testing.assert_array_equal(a, b)  # seeded


def test_bad_fold_counts_are_one_line_errors():
    y = np.array([0] * 20 + [1] * 3)
    with pytest.raises(CaviarError, match="at least 2"):
        check_cv(1, y, "classification")
    with pytest.raises(CaviarError, match="smallest class has only 3"):
        check_cv(4, y, "classification")
    with pytest.raises(CaviarError, match="only 23 rows"):
        check_cv(30, np.zeros(23), "regression")


def test_fold_mean_early_stopping_keeps_folds_together():
    data = _data()
    cfg = _cfg(0.2, train={"patience": 2, "epochs": 40})
    trainer = PopulationTrainer(expand_folds([cfg], K), data)
    result = trainer.run()
    best = {m.best_epoch for m in result.members}
    runs = {m.epochs_run for m in result.members}
    assert len(best) == 1 and len(runs) == 1  # one best epoch (of the mean curve), one stop
    curve = np.mean([m.history["val_loss"] for m in result.members], axis=0)
    assert int(np.argmin(curve)) == best.pop()
    from caviar.tuning.executor import run_population

    (rec,) = fold_records(run_population(expand_folds([cfg], K), data), K)
    scores = [m.val_score for m in result.members]
    assert rec.member.cv_scores == pytest.approx(scores, abs=1e-12)
    assert rec.member.val_score == pytest.approx(np.mean(scores), abs=1e-12)
