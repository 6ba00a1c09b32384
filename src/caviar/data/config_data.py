"""The prepared data set that run configurations name (their ``[data]`` section)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from caviar.data.dataset import PreparedData, prepare_data
from caviar.data.options import TableOptions
from caviar.errors import CaviarError

if TYPE_CHECKING:
    from caviar.config import RunConfig


def load_data_for(configs: list[RunConfig]) -> PreparedData:
    """Prepare the one data set that all ``configs`` name."""
    data_cfg = configs[0].data
    if any(c.data != data_cfg for c in configs[1:]):
        raise CaviarError("all configurations of one run must use the same [data] section")
    return prepare_data(
        data_cfg.source,
        target=data_cfg.target,
        task=data_cfg.task,
        val_fraction=data_cfg.val_fraction,
        test_fraction=data_cfg.test_fraction,
        seed=data_cfg.seed,
        shape=data_cfg.shape,
        weight=data_cfg.weight,
        test=data_cfg.test,
        options=TableOptions.from_config(data_cfg),
    )


__all__ = ["load_data_for"]
