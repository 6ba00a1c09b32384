"""Preprocessing refitted per cross-validation fold (caviar.data.fold_preprocess, issue 23).

A table with gaps in two numeric columns and a text column: each fold's fill values,
means and standard deviations are those scikit-learn's ``SimpleImputer(strategy=
"median")`` and ``StandardScaler`` fit on that fold's training rows only; a value put
only in the rows a fold holds out never reaches that fold's statistics; and each fold
member of a population still equals its fold trained alone.
"""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler
from tests.training.fold_helpers import run_epochs

from caviar.config import validate_config
from caviar.data import prepare_arrays
from caviar.data.fold_preprocess import fold_preprocessor
from caviar.data.folds import cv_splits, fold_data
from caviar.training.cross_validation import expand_folds
from caviar.training.trainer import PopulationTrainer

K, SEED, NUMERIC = 5, 3, ["age", "income"]


def _frame(n=203, seed=0, sentinel_rows=()):
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    income = rng.lognormal(3, 0.5, n)
    city = rng.choice(["lyon", "paris", "nice"], n)
    y = ((age > 40) ^ (city == "nice")).astype(int)
    age[rng.random(n) < 0.15] = np.nan
    income[rng.random(n) < 0.1] = np.nan
    income[list(sentinel_rows)] = 1e6
    return pd.DataFrame({"age": age, "income": income, "city": city}), y


def _data(sentinel_rows=()):
    X, y = _frame(sentinel_rows=sentinel_rows)
    return prepare_arrays(X, y, seed=0, task="classification")


def _cfg(lr):
    return validate_config(
        {
            "data": {"source": "in-memory", "seed": SEED},
            "model": {"hidden": [6]},
            "optimizer": {"name": "adam", "lr": lr},
            "train": {"epochs": 4, "batch_size": 16, "patience": None, "dtype": "float64"},
        }
    )


def test_each_fold_fits_its_statistics_on_its_training_rows_only():
    data = _data()
    y = data.train_val()[1]
    train_rows, _ = cv_splits(y, K, "classification", SEED)
    names = data.preprocessor.feature_names
    trainer = PopulationTrainer(expand_folds([_cfg(0.01)], K), data)
    for f, rows in enumerate(train_rows):
        raw = data.raw_train_val[NUMERIC]
        imputer = SimpleImputer(strategy="median").fit(raw.iloc[rows])
        scaler = StandardScaler().fit(imputer.transform(raw.iloc[rows]))
        pre = fold_preprocessor(data, rows)
        for i, name in enumerate(NUMERIC):
            (column,) = [c for c in pre.columns if c.name == name]
            assert column.fill == pytest.approx(imputer.statistics_[i], rel=1e-12)
            assert column.mean == pytest.approx(scaler.mean_[i], rel=1e-12)
            assert column.std == pytest.approx(scaler.scale_[i], rel=1e-12)
        # the member of fold f trains and validates on all N rows so transformed
        want = scaler.transform(imputer.transform(raw))
        got = trainer.tensors.inputs[int(trainer.tensors.slot[f])].numpy()
        np.testing.assert_allclose(got[:, [names.index(n) for n in NUMERIC]], want, rtol=1e-12)
        # the layout (columns, indicators, categorical levels) is the training split's
        assert pre.feature_names == names


def test_a_value_only_in_held_out_rows_never_reaches_that_folds_statistics():
    plain = _data()
    _, val_rows = cv_splits(plain.train_val()[1], K, "classification", SEED)
    source_rows = plain.raw_train_val.index.to_numpy()
    in_training_split = val_rows[0][val_rows[0] < len(plain.X_train)]
    held = source_rows[in_training_split[:3]]  # training-split rows that fold 0 holds out
    data = _data(sentinel_rows=held)
    train_rows, _ = cv_splits(data.train_val()[1], K, "classification", SEED)
    assert plain.train_val()[1].tolist() == data.train_val()[1].tolist()  # the same split
    income = [c for c in data.preprocessor.columns if c.name == "income"][0]
    assert income.std > 1e4  # the training split's statistics saw the value
    for f, rows in enumerate(train_rows):
        column = [c for c in fold_preprocessor(data, rows).columns if c.name == "income"][0]
        if f == 0:
            assert column.std < 100 and column.mean < 100  # fold 0 never saw it
            clean = fold_preprocessor(plain, rows)
            assert column == [c for c in clean.columns if c.name == "income"][0]
        else:
            assert column.std > 1e4


def test_fold_members_with_their_own_preprocessing_equal_their_folds_alone():
    data = _data()
    configs = [_cfg(0.01), _cfg(0.05)]
    pop = run_epochs(PopulationTrainer(expand_folds(configs, K), data))
    inputs = pop.tensors.inputs
    assert inputs is not None and not torch.equal(inputs[0], inputs[1])  # refitted per fold
    for c, cfg in enumerate(configs):
        for f in range(K):
            alone = run_epochs(PopulationTrainer([cfg], fold_data(data, K, f, SEED)))
            p = c * K + f
            for key in ("train_loss", "train_score", "val_loss", "val_score"):
                got = torch.stack(pop.history[key])[:, p]
                want = torch.stack(alone.history[key])[:, 0]
                torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12, msg=key)
            torch.testing.assert_close(pop.model.flat[p], alone.model.flat[0])


def test_shaped_inputs_pool_each_folds_channel_statistics_over_its_training_rows():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 2, 8)) * np.array([1.0, 5.0])[None, :, None] + 3.0
    y = (X[:, 0].mean(axis=1) > 3).astype(int)
    data = prepare_arrays(X, y, seed=0, task="classification")
    assert data.input_shape == (2, 8)
    raw = data.raw_train_val.to_numpy().reshape(-1, 2, 8)
    train_rows, _ = cv_splits(data.train_val()[1], K, "classification", SEED)
    for rows in train_rows:
        pre = fold_preprocessor(data, rows)
        for c in range(2):
            channel = raw[rows, c, :].reshape(-1)
            for column in pre.columns[c * 8 : (c + 1) * 8]:
                assert column.mean == pytest.approx(channel.mean(), rel=1e-12)
                assert column.std == pytest.approx(channel.std(), rel=1e-12)
