"""Configuration: the typed schema, grid expansion and file loading."""

from caviar.config.grid import expand_grid, get_path, set_path
from caviar.config.load import expand_configs, load_configs, read_toml, validate_config
from caviar.config.schema import (
    PER_MEMBER_FIELDS,
    DataConfig,
    LossConfig,
    ModelConfig,
    OptimizerConfig,
    PenaltyConfig,
    RunConfig,
    ScheduleConfig,
    TrainingConfig,
)

__all__ = [
    "PER_MEMBER_FIELDS",
    "DataConfig",
    "LossConfig",
    "ModelConfig",
    "OptimizerConfig",
    "PenaltyConfig",
    "RunConfig",
    "ScheduleConfig",
    "TrainingConfig",
    "expand_configs",
    "expand_grid",
    "get_path",
    "load_configs",
    "read_toml",
    "set_path",
    "validate_config",
]
