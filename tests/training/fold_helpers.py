"""Data shared by the cross-validation fold tests: 203 rows whose train+validation split
has 162 rows, so 5 folds hold out 33, 33, 32, 32, 32 rows."""

import numpy as np

from caviar.data import prepare_arrays


def fold_test_data(task="classification", n=203, seed=0):
    """Five features; three classes (or a linear regression target with noise)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    if task == "classification":
        y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 1).astype(int)
    else:
        y = X[:, 0] - 2 * X[:, 1] + 0.1 * rng.normal(size=n)
    return prepare_arrays(X, y, seed=seed, task=task)


def run_epochs(trainer):
    """Train and validate every epoch of ``trainer`` (no restore of best weights)."""
    for epoch in range(trainer.epochs):
        trainer.epoch = epoch
        trainer.train_epoch()
        trainer.validate()
    return trainer


def pool_balance(data):
    """The "balanced" class weight of each row of train+validation, ``n / (C n_c)``."""
    y = data.train_val()[1]
    counts = np.bincount(y)
    return len(y) / (len(counts) * counts[y].astype(float))
