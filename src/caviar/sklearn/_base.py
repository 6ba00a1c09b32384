"""What the scikit-learn estimators share: parameters -> ``RunConfig``, arrays ->
``PreparedData``, one trained member -> fitted attributes, and the forward pass.

A fit is split in steps that :class:`~caviar.sklearn.PopulationSearchCV` reuses so
that a member trained inside a population goes through exactly the code path of
the same estimator fitted alone (population independence, docs/dev/conventions.md):

1. ``_validate_xy(X, y)``: scikit-learn input validation, sets ``n_features_in_``
   (and ``classes_``), returns float64 ``X`` and encoded ``y``;
2. ``_seed()``: one integer from ``random_state`` (an int is used as is; ``None``
   or a ``RandomState`` draws one) seeding the initial weights, the mini-batch
   order and the validation split;
3. ``_run_config(seed)``: the member's :class:`~caviar.config.RunConfig`, validated;
4. ``_prepared(X, y, seed)``: the :class:`~caviar.data.PreparedData` the engine trains
   on. Arrays are used as given (put a ``StandardScaler`` in a ``Pipeline``, as with
   scikit-learn's own MLPs); a DataFrame is prepared as ``caviar train`` prepares a
   table, fitted on the training rows (:mod:`caviar.sklearn._table`), and a regression
   target is standardized (``standardize_target``). With ``early_stopping=True`` a
   ``validation_fraction`` of the rows (stratified for classifiers) is held out and each
   member keeps its best-validation-loss weights (:ref:`bg-early-stopping`); otherwise every
   row trains, all ``epochs`` run and the final weights are kept;
5. ``_adopt(result, member)``: copy one member's weights and history into
   attributes ending in ``_``.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

import numpy as np
import pandas as pd
import torch
from pydantic import ValidationError
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import (
    _check_sample_weight,
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from caviar.config import RunConfig, set_path
from caviar.config.load import format_validation_error
from caviar.data import PreparedData
from caviar.data.channels import check_shape
from caviar.data.split import split_indices
from caviar.errors import CaviarError
from caviar.model import network as networks
from caviar.nn import PopulationMLP
from caviar.nn.activations import activation_parameter
from caviar.nn.factory import register
from caviar.progress import epoch_progress
from caviar.sklearn._engine import (
    PopulationResult,
    optimizer_hypers,
    resolve_loss_name,
    train_population,
)
from caviar.sklearn._params import EstimatorParams
from caviar.sklearn._table import (
    as_frame,
    fit_table,
    flatten_images,
    table_options,
    target_scale,
    uses_table,
)

# estimator parameter -> config path (both estimators)
COMMON_PATHS: dict[str, str] = {
    "activation": "model.activation",
    "leaky_slope": "model.leaky_slope",
    "init": "model.init",
    "init_scale": "model.init_scale",
    "output_init": "model.output_init",
    "loss": "loss.name",
    "optimizer": "optimizer.name",
    "learning_rate": "optimizer.lr",
    "momentum": "optimizer.momentum",
    "dampening": "optimizer.dampening",
    "beta1": "optimizer.beta1",
    "beta2": "optimizer.beta2",
    "rho": "optimizer.rho",
    "eps": "optimizer.eps",
    "weight_decay": "optimizer.weight_decay",
    "eps_inside_sqrt": "optimizer.eps_inside_sqrt",
    "schedule": "schedule.name",
    "schedule_k": "schedule.k",
    "schedule_factor": "schedule.factor",
    "schedule_min_factor": "schedule.min_factor",
    "warmup": "schedule.warmup",
    "l1_kernel": "penalty.l1_kernel",
    "l2_kernel": "penalty.l2_kernel",
    "l1_bias": "penalty.l1_bias",
    "l2_bias": "penalty.l2_bias",
    "l1_activity": "penalty.l1_activity",
    "l2_activity": "penalty.l2_activity",
    "batch_size": "train.batch_size",
    "epochs": "train.epochs",
    "min_delta": "train.min_delta",
    "dtype": "train.dtype",
    "device": "train.device",
}


class CaviarValueError(CaviarError, ValueError):
    """A bad estimator parameter or input: a :class:`CaviarError` that is also a
    ``ValueError`` (what scikit-learn's checks and tools expect)."""


def _plain(value: Any) -> Any:
    """Numpy scalars -> Python scalars, tuples -> lists (what the schema takes)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_plain(v) for v in value]
    return value


class CaviarEstimatorMixin(EstimatorParams):
    """Fitting and forward pass shared by :class:`CaviarClassifier` and
    :class:`CaviarRegressor`; subclasses define ``_task`` and ``_extra_paths``."""

    _task: str = ""
    _extra_paths: dict[str, str] = {}

    # -- step 1 is in the subclasses (_validate_xy), on this common part ----------------
    def _checked_xy(self, X: Any, y: Any, **y_checks: Any) -> tuple[Any, np.ndarray]:
        """``(X, y)`` validated: a DataFrame for the table path (:mod:`._table`), else
        float64 rows (images flattened, their shape kept in ``input_shape_``)."""
        name = type(self).__name__
        X, self.input_shape_ = flatten_images(X)
        try:
            table = uses_table(self.preprocess, X, name)
        except CaviarError as e:
            raise CaviarValueError(str(e)) from None
        if not table:
            return validate_data(self, X, y, dtype=np.float64, **y_checks)
        validate_data(self, X, reset=True, skip_check_array=True)
        if y_checks.get("multi_output"):
            y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
        else:
            y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        return as_frame(X), y

    def _rows(self, X: Any) -> Any:
        """New inputs as the fitted network takes them: through the fitted table
        preparation, or validated float64 rows (images flattened)."""
        check_is_fitted(self, "config_")
        X, shape = flatten_images(X)
        fitted = getattr(self, "input_shape_", None)
        if shape is not None and shape != fitted:  # images of the fitted shape only
            raise CaviarValueError(
                f"{type(self).__name__}: X holds examples of shape {list(shape)}; it was "
                f"fitted on {list(fitted) if fitted else f'rows of {self.n_features_in_}'}"
                " (another channel count, length or image size is refused, never reshaped)"
            )
        pre = getattr(self, "preprocessor_", None)
        if pre is None:
            return validate_data(self, X, reset=False, dtype=np.float64)
        validate_data(self, X, reset=False, skip_check_array=True)
        try:
            return pre.transform(as_frame(X))
        except CaviarError as e:
            raise CaviarValueError(f"{type(self).__name__}: {e}") from None

    def _class_weight(self) -> Any:
        """``class_weight`` with the labels as the engine sees them (class codes)."""
        cw = getattr(self, "class_weight", None)
        if cw is None or (isinstance(cw, str) and cw == "balanced"):
            return cw
        if not isinstance(cw, dict):
            raise CaviarValueError(
                f"{type(self).__name__}: class_weight must be 'balanced', a dict or None"
            )
        classes = list(getattr(self, "classes_", []))
        out = {}
        for label, weight in cw.items():
            if label not in classes:
                raise CaviarValueError(
                    f"{type(self).__name__}: class_weight has label {label!r}, not a class "
                    f"of y ({', '.join(map(repr, classes))})"
                )
            out[str(classes.index(label))] = _plain(weight)
        return out

    def _seed(self) -> int:
        """The integer seed of this fit (step 2)."""
        rs = self.random_state
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            if rs < 0:
                raise CaviarValueError(
                    f"{type(self).__name__}: random_state must be >= 0, got {rs}"
                )
            return int(rs)
        try:
            return int(check_random_state(rs).randint(np.iinfo(np.int32).max))
        except ValueError as e:
            raise CaviarValueError(
                f"{type(self).__name__}: invalid random_state {rs!r}: {e}"
            ) from None

    def _run_config(self, seed: int) -> RunConfig:
        """The validated configuration of this estimator's member (step 3)."""
        name = type(self).__name__
        raw: dict[str, Any] = {"data": {"source": "arrays", "task": self._task}}
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, numbers.Integral) and not isinstance(hidden, bool):
            hidden = [hidden]
        set_path(raw, "model.hidden", _plain(hidden))
        for param, path in {**COMMON_PATHS, **self._extra_paths}.items():
            set_path(raw, path, _plain(getattr(self, param)))
        if self.early_stopping not in (True, False):
            raise CaviarValueError(f"{name}: early_stopping must be True or False")
        patience = _plain(self.patience) if self.early_stopping else None
        set_path(raw, "train.patience", patience)
        set_path(raw, "train.seed", seed)
        set_path(raw, "train.shuffle_seed", seed)
        set_path(raw, "train.metric", _plain(self.metric))
        if self._task == "classification":
            set_path(raw, "train.class_weight", self._class_weight())
        if self.early_stopping:
            set_path(raw, "data.val_fraction", _plain(self.validation_fraction))
        if self.module is not None:
            try:
                set_path(raw, "model.kind", "module")
                set_path(raw, "model.factory", register(self.module))
            except CaviarError as e:
                raise CaviarValueError(f"{name}: {e}") from None
        try:
            cfg = RunConfig.model_validate(raw)
            resolve_loss_name(cfg, self._task)
            optimizer_hypers(cfg)
        except ValidationError as e:
            msg = format_validation_error(e, name)
            for param, path in {**COMMON_PATHS, **self._extra_paths}.items():
                msg = msg.replace(f"{name}: {path}:", f"{name}: {param}:")
            msg = msg.replace(f"{name}: model.hidden:", f"{name}: hidden_layer_sizes:")
            msg = msg.replace(f"{name}: train.metric:", f"{name}: metric:")
            msg = msg.replace(f"{name}: train.class_weight:", f"{name}: class_weight:")
            raise CaviarValueError(msg) from None
        except CaviarError as e:
            raise CaviarValueError(f"{name}: {e}") from None
        return cfg

    def _split(self, y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Training and validation row indices (every row trains without early stopping)."""
        if not self.early_stopping:
            return np.arange(len(y)), np.arange(0)
        try:
            train_idx, val_idx, _ = split_indices(
                len(y),
                y if self._task == "classification" else None,
                task=self._task,  # type: ignore[arg-type]
                val_fraction=float(self.validation_fraction),
                test_fraction=0.0,
                seed=seed,
            )
        except (CaviarError, TypeError) as e:
            raise CaviarValueError(f"{type(self).__name__}: {e}") from None
        return train_idx, val_idx

    def _prepared(
        self, X: Any, y: np.ndarray, seed: int, sample_weight: np.ndarray | None = None
    ) -> PreparedData:
        """The training (and validation) split the engine trains on (step 4)."""
        name = type(self).__name__
        train_idx, val_idx = self._split(y, seed)
        sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        pre = None
        if isinstance(X, pd.DataFrame):  # the table path: fitted on the training rows
            try:
                pre = fit_table(X, train_idx, table_options(self.table_options, name))
                X = pre.transform(X)
            except CaviarError as e:
                raise CaviarValueError(f"{name}: {e}") from None
        y = np.asarray(y)
        scale = None
        if self._task == "regression" and self.standardize_target:
            scale = target_scale(y, train_idx, sw)
            y = ((y.reshape(len(y), -1) - scale[0]) / scale[1]).reshape(y.shape)
        n_features = X.shape[1]
        classes = getattr(self, "classes_", None)
        shape = self.input_shape if self.input_shape is not None else self.input_shape_
        if shape is not None:
            try:
                shape = check_shape(tuple(_plain(shape)), n_features, "X")
            except (CaviarError, TypeError, ValueError) as e:
                raise CaviarValueError(f"{name}: input_shape: {e}") from None
        return PreparedData(
            w_train=None if sw is None else sw[train_idx],
            w_val=None if sw is None else sw[val_idx],
            task=self._task,  # type: ignore[arg-type]
            X_train=np.array(X[train_idx], dtype=np.float64),  # a writable copy
            y_train=np.array(y[train_idx]),
            X_val=np.array(X[val_idx], dtype=np.float64),
            y_val=np.array(y[val_idx]),
            X_test=np.empty((0, n_features), dtype=np.float64),
            y_test=y[:0],
            n_classes=None if classes is None else len(classes),
            feature_names=pre.feature_names if pre else [f"x{i}" for i in range(n_features)],
            preprocessor=pre,
            input_shape=shape,
            target_scale=scale,
        )

    def _adopt(
        self, result: PopulationResult, member: int, data: PreparedData
    ) -> CaviarEstimatorMixin:
        """Set the fitted attributes from member ``member`` of a population trained on
        ``data`` (step 5)."""
        m = result.members[member]
        self.preprocessor_ = data.preprocessor
        scale = data.target_scale
        self.target_mean_ = None if scale is None else scale[0]
        self.target_std_ = None if scale is None else scale[1]
        model: Any = result.model  # the population model (MLP or module)
        tensors = model.member_tensors(member)
        if model.kind == "mlp":
            n = len(tensors) // 2
            self.coefs_ = [tensors[f"layers.{i}.weight"].double().numpy() for i in range(n)]
            self.intercepts_ = [tensors[f"layers.{i}.bias"].double().numpy() for i in range(n)]
        else:  # a module population: its tensors by name, and how to rebuild it
            self.module_tensors_ = {k: v.double().numpy() for k, v in tensors.items()}
            self.network_ = networks.describe(model, [model.member_configs[member]])
        self.config_ = m.config
        self.loss_name_ = result.loss_name
        self.status_ = m.status
        self.n_iter_ = m.epochs_run
        self.best_epoch_ = m.best_epoch
        self.history_ = m.history
        self.best_validation_score_ = m.val_score if self.early_stopping else None
        if m.status == "diverged":
            warnings.warn(
                f"{type(self).__name__}: training diverged (the loss became NaN/inf); "
                "the weights are those of the last finite step. Lower learning_rate.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> CaviarEstimatorMixin:
        """Train one member on ``(X, y)`` (a population of size 1). Returns ``self``.

        ``sample_weight`` ``(n,)``: every loss becomes the weighted mean over the batch
        (:mod:`caviar.losses.weighted`), early stopping watches the weighted validation
        loss; None weighs every row 1."""
        X, y_enc = self._validate_xy(X, y)
        # negative weights are refused as the CLI's data.weight column refuses them
        sw = (
            None
            if sample_weight is None
            else _check_sample_weight(sample_weight, X, ensure_non_negative=True)
        )
        seed = self._seed()
        cfg = self._run_config(seed)
        data = self._prepared(X, y_enc, seed, sw)
        label = [(type(self).__name__, cfg.train.epochs)]
        verbose = bool(getattr(self, "verbose", 0))
        try:
            with epoch_progress(label, enabled=verbose) as bar:  # no hook at all when quiet
                hook = (lambda *a: bar(0, *a)) if verbose else None
                result = train_population([cfg], data, on_epoch=hook)
        except CaviarError as e:
            raise CaviarValueError(f"{type(self).__name__}: {e}") from None
        return self._adopt(result, 0, data)

    # -- prediction --------------------------------------------------------------------
    def _outputs(self, X: Any) -> np.ndarray:
        """Raw network outputs ``(n, K)`` in float64 for new inputs."""
        X = self._rows(X)
        if hasattr(self, "network_"):
            net = networks.build(self.network_, 1, dtype=torch.float64, module=self.module)
            net.load_member_tensors(
                {k: torch.as_tensor(v) for k, v in self.module_tensors_.items()}
            )
            with torch.no_grad():
                return net(torch.as_tensor(np.array(X, dtype=np.float64)))[0].numpy()
        sizes = [self.coefs_[0].shape[0], *(w.shape[1] for w in self.coefs_)]
        model = self.config_.model
        net = PopulationMLP(sizes, 1, activation=model.activation, dtype=torch.float64)
        tensors = {}
        for i, (w, b) in enumerate(zip(self.coefs_, self.intercepts_, strict=True)):
            tensors[f"layers.{i}.weight"] = torch.as_tensor(w)
            tensors[f"layers.{i}.bias"] = torch.as_tensor(b)
        net.load_member_tensors(tensors, member=0)
        slope = torch.tensor([activation_parameter(model)], dtype=torch.float64)
        with torch.no_grad():
            return net(torch.as_tensor(np.array(X, dtype=np.float64)), slope=slope)[0].numpy()
