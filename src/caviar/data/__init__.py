"""Tabular data for caviar: load, detect the task, split, preprocess (fit on train only).

Typical use::

    from caviar.data import prepare_data
    data = prepare_data("iris", seed=0)        # or "table.csv", target="label"
    data.X_train, data.y_train, data.n_classes

Modules: :mod:`~caviar.data.sources` (loading), :mod:`~caviar.data.task` (task
detection), :mod:`~caviar.data.split` (seeded stratified split),
:mod:`~caviar.data.preprocess` (impute / standardize / one-hot / labels,
:ref:`bg-normalization`; its two steps in :mod:`~caviar.data.encoding`),
:mod:`~caviar.data.dataset` (the pipeline and :class:`PreparedData`).
"""

from caviar.data.dataset import (
    PreparedData,
    data_fingerprint,
    prepare_arrays,
    prepare_data,
    prepare_raw,
    train_val,
)
from caviar.data.encoding import fitted_arrays, model_input, table_codes
from caviar.data.features import load_features
from caviar.data.options import TableOptions
from caviar.data.preprocess import (
    CategoricalColumn,
    NumericColumn,
    Preprocessor,
    check_features,
)
from caviar.data.sources import (
    BUNDLED_DATASETS,
    FILE_EXTENSIONS,
    RawData,
    load_source,
    raw_from_arrays,
)
from caviar.data.split import split_indices, split_sizes
from caviar.data.task import TASK_CHOICES, Task, detect_task

__all__ = [
    "load_features",
    "BUNDLED_DATASETS",
    "FILE_EXTENSIONS",
    "TASK_CHOICES",
    "CategoricalColumn",
    "NumericColumn",
    "PreparedData",
    "data_fingerprint",
    "Preprocessor",
    "RawData",
    "Task",
    "check_features",
    "detect_task",
    "load_source",
    "prepare_arrays",
    "prepare_data",
    "prepare_raw",
    "raw_from_arrays",
    "split_indices",
    "split_sizes",
    "TableOptions",
    "fitted_arrays",
    "model_input",
    "table_codes",
    "train_val",
]
