"""Folds of unequal sizes in one population (caviar.training.fold_sizes, issue 27 point 8).

train+validation has ``N = 162`` rows here and ``k = 5``: scikit-learn's folds hold out
33, 33, 32, 32, 32 rows, so fold members train on 129 or 130 rows. Each fold member of a
population is compared, in float64, with a one-member population trained alone on its
fold (:func:`caviar.data.folds.fold_data`): where the two sizes give the same number of
batches with a last batch of another size, and where they give different numbers of
batches (a size group then sits a step out, which must change nothing of it).
"""

import numpy as np
import pytest
import torch
from sklearn import metrics
from tests.training.fold_helpers import fold_test_data, pool_balance, run_epochs

from caviar.config import validate_config
from caviar.data.folds import cv_splits, fold_data
from caviar.training.cross_validation import expand_folds, fold_members
from caviar.training.evaluate import predict_outputs
from caviar.training.trainer import PopulationTrainer

K, SEED = 5, 3


_data = fold_test_data


def _cfg(lr, sections):
    train = {"epochs": 5, "batch_size": 16, "patience": None, "dtype": "float64"}
    train.update(sections.get("train", {}))
    config = {
        "data": {"source": "in-memory", "seed": SEED},
        "model": {"hidden": [7], **sections.get("model", {})},
        "optimizer": {"name": "adam", "lr": lr},
        "train": train,
    }
    config.update({k: v for k, v in sections.items() if k not in ("model", "train")})
    return validate_config(config)


def _alone(cfg, data, f):
    """Fold ``f`` of ``data`` trained alone (balanced weights counted over train+val, as
    the folds of a population count them)."""
    alone_data = fold_data(data, K, f, SEED)
    if cfg.train.class_weight == "balanced":
        train_rows, val_rows = cv_splits(data.train_val()[1], K, data.task, SEED)
        alone_data.w_train = pool_balance(data)[train_rows[f]]
        alone_data.w_val = pool_balance(data)[val_rows[f]]
        cfg = cfg.model_copy(deep=True)
        cfg.train.class_weight = None
    return run_epochs(PopulationTrainer([cfg], alone_data))


CASES = {
    # 129 and 130 rows in batches of 43: 3 batches against 4 (the last of one row)
    "batches_differ_dropout_warmup": (
        "classification",
        {
            "train": {"batch_size": 43, "sampling": "shuffle"},
            "model": {"dropout": 0.2, "input_dropout": 0.1},
            "schedule": {"name": "cosine", "warmup": 1.5},
        },
    ),
    "batches_differ_bootstrap_noise_max_norm": (
        "classification",
        {
            "train": {"batch_size": 43, "sampling": "bootstrap"},
            "noise": {"weight": 0.05, "input": 0.1},
            "penalty": {"max_norm": 0.8, "l2_activity": 0.01},
        },
    ),
    # batch norm merges a last batch of one row: 129 rows in 8 batches, 130 in 9
    "batch_norm_growth": (
        "regression",
        {
            "model": {"batch_norm": True},
            "train": {"batch_size": 16, "batch_size_growth": 2.0, "batch_size_max": 43},
        },
    ),
    "full_batch_metric_weights": (
        "classification",
        {"train": {"batch_size": "full", "metric": "f1_macro", "class_weight": "balanced"}},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_fold_of_unequal_size_equals_its_fold_trained_alone(case):
    task, sections = CASES[case]
    data = _data(task)
    train_rows, _ = cv_splits(data.train_val()[1], K, task, SEED)
    assert sorted({len(r) for r in train_rows}) == [129, 130]  # the premise: unequal folds
    configs = [_cfg(0.01, sections), _cfg(0.05, sections)]
    pop = run_epochs(PopulationTrainer(expand_folds(configs, K), data))
    assert pop.fold_sizes is not None and pop.fold_sizes.sizes == [129, 130]
    if case.startswith("batches_differ"):
        assert len(pop.epoch_bounds(0, 129)) == 3 and len(pop.epoch_bounds(0, 130)) == 4
    if case == "batch_norm_growth":
        assert len(pop.epoch_bounds(0, 129)) == 8 and len(pop.epoch_bounds(0, 130)) == 9
    for c, cfg in enumerate(configs):
        for f in range(K):
            alone, p = _alone(cfg, data, f), c * K + f
            for key in ("train_loss", "train_score", "val_loss", "val_score", "lr"):
                got = torch.stack(pop.history[key])[:, p]
                want = torch.stack(alone.history[key])[:, 0]
                torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12, msg=key)
            torch.testing.assert_close(
                pop.model.flat[p], alone.model.flat[0], rtol=1e-9, atol=1e-11
            )
            # a step sat out is no step: the optimizer's and the random streams' counters
            steps = pop.optimizer.state[0]["step"][p], alone.optimizer.state[0]["step"][0]
            assert int(steps[0]) == int(steps[1])
            assert int(pop.global_step[p]) == alone.global_step
            if pop.model.batch_norm:
                torch.testing.assert_close(pop.model.stats[p], alone.model.stats[0])
            norms = torch.stack(pop.grad_monitor.norms)[:, p]
            torch.testing.assert_close(norms, torch.stack(alone.grad_monitor.norms)[:, 0])


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_cross_validated_scores_match_sklearn_metrics_on_each_held_out_fold(task):
    """Every row of train+validation is scored exactly once, by the fold holding it out,
    and the folds' scores are scikit-learn's metrics of those rows' predictions."""
    data = _data(task)
    y = data.train_val()[1]
    _, val_rows = cv_splits(y, K, task, SEED)
    held = np.concatenate(val_rows)
    np.testing.assert_array_equal(np.sort(held), np.arange(len(y)))  # exactly once
    result = PopulationTrainer(expand_folds([_cfg(0.02, {})], K), data).run()
    (folded,) = fold_members(result.members, K)
    scores = []
    for f, rows in enumerate(val_rows):
        held_out = fold_data(data, K, f, SEED).X_val  # as fold f sees them (its own scaling)
        xf = torch.as_tensor(held_out, dtype=torch.float64)
        out = predict_outputs(result.model, xf, slope=result.knobs.leaky_slope)[f].numpy()
        member = result.members[f]
        if task == "classification":
            proba = np.exp(out - out.max(axis=1, keepdims=True))
            proba /= proba.sum(axis=1, keepdims=True)
            score = metrics.accuracy_score(y[rows], proba.argmax(axis=1))
            loss = metrics.log_loss(y[rows], proba, labels=np.arange(out.shape[1]))
        else:
            score = metrics.r2_score(y[rows], out[:, 0])
            loss = metrics.mean_squared_error(y[rows], out[:, 0])
        assert member.val_score == pytest.approx(score, rel=1e-10, abs=1e-12)
        assert member.val_loss == pytest.approx(loss, rel=1e-10, abs=1e-12)
        scores.append(score)
    assert folded.cv_scores == pytest.approx(scores, rel=1e-10, abs=1e-12)
    assert folded.val_score == pytest.approx(np.mean(scores), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_folds_are_scikit_learns_folds(task):
    from sklearn.model_selection import KFold, StratifiedKFold

    y = _data(task).train_val()[1]
    zeros = np.zeros((len(y), 1))
    if task == "classification":
        split = StratifiedKFold(K, shuffle=True, random_state=SEED).split(zeros, y)
    else:
        split = KFold(K, shuffle=True, random_state=SEED).split(zeros)
    train_rows, val_rows = cv_splits(y, K, task, SEED)
    for (train, test), t, v in zip(split, train_rows, val_rows, strict=True):
        np.testing.assert_array_equal(np.sort(test), v)
        np.testing.assert_array_equal(np.sort(train), t)
    assert [len(v) for v in val_rows] == [33, 33, 32, 32, 32]


@pytest.mark.parametrize("keep", [[5, 6, 7, 8, 9], [2, 3, 4, 7, 8, 9]])
def test_compacted_folds_go_on_as_in_the_full_population(keep):
    """Compaction (a search shrinking a population to its live members) keeps each fold's
    order and step count: the survivors of both sizes, or of one size only (whose
    trainer then has no size groups), go on as in the full population."""
    from caviar.tuning.compact import compact

    data = _data()
    sections = {"train": {"batch_size": 43, "sampling": "shuffle"}, "model": {"dropout": 0.2}}
    configs = expand_folds([_cfg(0.01, sections), _cfg(0.05, sections)], K)
    full = run_epochs(PopulationTrainer(configs, data))
    part = PopulationTrainer(configs, data)
    part.member_ids = list(range(len(configs)))
    for epoch in range(2):
        part.epoch = epoch
        part.train_epoch()
        part.validate()
    part = compact(part, keep)
    assert (part.fold_sizes is None) == (len(keep) == 6)  # folds 2-4 all train on 130 rows
    for epoch in range(2, part.epochs):
        part.epoch = epoch
        part.train_epoch()
        part.validate()
    for i, p in enumerate(keep):
        for key in ("train_loss", "val_loss"):
            got = torch.stack(part.history[key])[:, i]
            torch.testing.assert_close(got, torch.stack(full.history[key])[:, p], msg=key)
        torch.testing.assert_close(part.model.flat[i], full.model.flat[p])
