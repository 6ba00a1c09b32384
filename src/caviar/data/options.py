"""How a table's columns are fitted: imputation, categorical levels, unknown categories
and target standardization (the ``[data]`` keys of the same names, see
:mod:`caviar.data.preprocess` for what each does)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from caviar.errors import CaviarError

Impute = Literal["median", "mean", "most_frequent", "constant", "none"]
Unknown = Literal["warn", "error", "ignore"]
IMPUTE_CHOICES: tuple[str, ...] = ("median", "mean", "most_frequent", "constant", "none")
UNKNOWN_CHOICES: tuple[str, ...] = ("warn", "error", "ignore")


@dataclass(frozen=True)
class TableOptions:
    """The fitting options of a :class:`~caviar.data.Preprocessor`.

    Parameters
    ----------
    impute : {"median", "mean", "most_frequent", "constant", "none"}, default="median"
        Fill value of a numeric column's missing values, fitted on the training rows;
        ``"none"`` refuses missing values (in every column) with a one-line error.
    fill_value : float, default=0.0
        The fill value of ``impute="constant"``.
    missing_indicator : bool, default=True
        Add a 0/1 column ``<name>:missing`` after each numeric column that had missing
        values in the training rows.
    categorical : tuple of str, default=()
        Columns encoded as categories whatever their dtype (numeric codes, or a text
        column that would otherwise be refused as a numeric column with a stray string).
    max_onehot : int, default=32
        At most this many levels of a column get their own indicator; the less frequent
        ones share one ``other`` indicator.
    min_frequency : int, default=1
        Levels seen in fewer training rows than this share the ``other`` indicator.
    unknown : {"warn", "error", "ignore"}, default="warn"
        A category never seen in training, at prediction: encoded like ``other`` (or
        all zeros without an ``other`` level) with a counted warning, refused, or
        encoded silently.
    standardize_target : bool, default=False
        Regression: train on ``(y - mean) / std`` of the training rows; predictions are
        mapped back to the target's units. (``[data] standardize_target`` in a run
        configuration defaults to true.)

    Examples
    --------
    >>> TableOptions(impute="mean", max_onehot=8).impute
    'mean'
    """

    impute: Impute = "median"
    fill_value: float = 0.0
    missing_indicator: bool = True
    categorical: tuple[str, ...] = ()
    max_onehot: int = 32
    min_frequency: int = 1
    unknown: Unknown = "warn"
    standardize_target: bool = False

    def __post_init__(self) -> None:
        if self.impute not in IMPUTE_CHOICES:
            raise CaviarError(
                f"data.impute must be one of {', '.join(IMPUTE_CHOICES)}; got {self.impute!r}"
            )
        if self.unknown not in UNKNOWN_CHOICES:
            raise CaviarError(
                f"data.unknown must be one of {', '.join(UNKNOWN_CHOICES)}; got {self.unknown!r}"
            )
        if isinstance(self.max_onehot, bool) or int(self.max_onehot) < 1:
            raise CaviarError(f"data.max_onehot must be an integer >= 1; got {self.max_onehot!r}")
        if isinstance(self.min_frequency, bool) or int(self.min_frequency) < 1:
            raise CaviarError(
                f"data.min_frequency must be an integer >= 1; got {self.min_frequency!r}"
            )
        object.__setattr__(self, "categorical", tuple(str(c) for c in self.categorical))

    @classmethod
    def from_config(cls, data_cfg) -> TableOptions:
        """The options a ``[data]`` section (:class:`caviar.config.schema.DataConfig`) names."""
        return cls(
            impute=data_cfg.impute,
            fill_value=data_cfg.fill_value,
            missing_indicator=data_cfg.missing_indicator,
            categorical=tuple(data_cfg.categorical),
            max_onehot=data_cfg.max_onehot,
            min_frequency=data_cfg.min_frequency,
            unknown=data_cfg.unknown,
            standardize_target=data_cfg.standardize_target,
        )
