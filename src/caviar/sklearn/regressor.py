"""``CaviarRegressor``: a scikit-learn regressor trained by the caviar engine.

The network's linear outputs are the predictions (:ref:`bg-regression-losses`); ``y`` may
have several columns (one output each). Targets are standardized on the training rows
by default and predictions mapped back (``standardize_target``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin

from caviar.sklearn._base import CaviarEstimatorMixin
from caviar.sklearn._export import ExportableEstimator
from caviar.sklearn._params import PARAMS_DOC


class CaviarRegressor(CaviarEstimatorMixin, ExportableEstimator, RegressorMixin, BaseEstimator):
    __doc__ = f"""Multilayer-perceptron regressor trained by caviar's population engine.

    Every knob of a caviar run is a constructor parameter; ``fit`` trains a
    population of one member. ``X`` is used as given (no scaling inside: put a
    ``StandardScaler`` before it in a ``Pipeline``); ``y`` is standardized on the
    training rows by default and predictions mapped back (``standardize_target``).

    Once fitted it exports like any trained model
    (:class:`~caviar.sklearn.ExportableEstimator`): ``to_torch()``,
    ``export("model.onnx")`` (or ``.pt``), ``save(directory)``, with its fitted
    preprocessing inside; before ``fit`` they raise ``NotFittedError``.

    Parameters
    ----------
{PARAMS_DOC}
    huber_delta : float, default=1.0
        Delta of the Huber loss (``loss="huber"``).
    standardize_target : bool, default=True
        Train on ``(y - mean) / std`` of the training rows (weighted by
        ``sample_weight``), per output; predictions are mapped back to ``y``'s units.
        False: ``y`` is used as given.

    Attributes
    ----------
    n_outputs_ : int
        Number of target columns.
    n_features_in_, feature_names_in_ : as in scikit-learn.
    coefs_, intercepts_ : lists of ndarrays
        Weight matrix ``(fan_in, fan_out)`` and bias ``(fan_out,)`` of each layer.
    config_ : caviar.config.RunConfig
        The configuration the member was trained with.
    target_mean_, target_std_ : ndarray of shape (n_outputs,) or None
        The standardization of ``y`` (``standardize_target``), else None.
    preprocessor_ : caviar.data.Preprocessor or None
        The table preparation fitted on the training rows (DataFrame inputs), else None.
    input_shape_ : tuple of int or None
        One example's shape read from an image-shaped ``X`` ``(n, C, L)`` / ``(n, C, H, W)``.
    loss_name_, status_, n_iter_, best_epoch_, history_, best_validation_score_ :
        Resolved loss, member status, epochs run, epoch of the kept weights,
        per-epoch history, validation R^2 (early stopping only).
    """

    _task = "regression"
    _extra_paths = {"huber_delta": "loss.delta"}

    def __init__(
        self,
        hidden_layer_sizes=(64,),
        activation="relu",
        *,
        leaky_slope=0.01,
        init="he_uniform",
        init_scale=0.05,
        output_init="prior",
        loss="auto",
        optimizer="adam",
        learning_rate=None,
        momentum=None,
        dampening=None,
        beta1=None,
        beta2=None,
        rho=None,
        eps=None,
        weight_decay=None,
        eps_inside_sqrt=None,
        schedule="constant",
        schedule_k=None,
        schedule_factor=None,
        schedule_min_factor=None,
        warmup=0.0,
        l1_kernel=0.0,
        l2_kernel=0.0,
        l1_bias=0.0,
        l2_bias=0.0,
        l1_activity=0.0,
        l2_activity=0.0,
        batch_size=32,
        epochs=100,
        early_stopping=False,
        patience=10,
        min_delta=0.0,
        validation_fraction=0.1,
        random_state=None,
        dtype="float32",
        device="cpu",
        module=None,
        input_shape=None,
        verbose=0,
        huber_delta=1.0,
        metric="auto",
        preprocess="auto",
        table_options=None,
        standardize_target=True,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.leaky_slope = leaky_slope
        self.init = init
        self.init_scale = init_scale
        self.output_init = output_init
        self.loss = loss
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.dampening = dampening
        self.beta1 = beta1
        self.beta2 = beta2
        self.rho = rho
        self.eps = eps
        self.weight_decay = weight_decay
        self.eps_inside_sqrt = eps_inside_sqrt
        self.schedule = schedule
        self.schedule_k = schedule_k
        self.schedule_factor = schedule_factor
        self.schedule_min_factor = schedule_min_factor
        self.warmup = warmup
        self.l1_kernel = l1_kernel
        self.l2_kernel = l2_kernel
        self.l1_bias = l1_bias
        self.l2_bias = l2_bias
        self.l1_activity = l1_activity
        self.l2_activity = l2_activity
        self.batch_size = batch_size
        self.epochs = epochs
        self.early_stopping = early_stopping
        self.patience = patience
        self.min_delta = min_delta
        self.validation_fraction = validation_fraction
        self.random_state = random_state
        self.dtype = dtype
        self.device = device
        self.module = module
        self.input_shape = input_shape
        self.verbose = verbose
        self.huber_delta = huber_delta
        self.standardize_target = standardize_target
        self.metric = metric
        self.preprocess = preprocess
        self.table_options = table_options

    def _validate_xy(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Validate; return float64 ``X`` and float64 ``y`` (1-D or 2-D as given)."""
        X, y = self._checked_xy(X, y, multi_output=True, y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        self._y_ndim = y.ndim
        return X, y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y may have several columns
        return tags

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets: ``(n_samples,)`` if ``y`` was 1-D, else ``(n_samples, n_outputs)``."""
        out = self._outputs(X)
        if self.target_mean_ is not None:  # the standardized target back in its units
            out = out * self.target_std_ + self.target_mean_
        return out[:, 0] if self._y_ndim == 1 else out
