"""Shared check: members inside a population follow the trajectory they follow alone."""

import numpy as np
import torch

from caviar.training.trainer import train_population


def assert_members_as_alone(configs, data, members, *, keys=("train_loss", "val_loss")):
    """Train ``configs`` together, then each of ``members`` alone; weights, status and
    histories must agree (float64)."""
    together = train_population(configs, data)
    for i in members:
        alone = train_population([configs[i]], data)
        torch.testing.assert_close(
            together.model.flat[i], alone.model.flat[0], rtol=1e-9, atol=1e-11
        )
        a, b = together.members[i], alone.members[0]
        assert (a.status, a.best_epoch, a.epochs_run) == (b.status, b.best_epoch, b.epochs_run)
        for key in keys:
            np.testing.assert_allclose(a.history[key], b.history[key], rtol=1e-9, atol=1e-12)
    return together
