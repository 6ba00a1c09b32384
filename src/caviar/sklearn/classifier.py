"""``CaviarClassifier``: a scikit-learn classifier trained by the caviar engine.

Probabilities come from the loss's output model (softmax for cross-entropy,
:ref:`bg-cross-entropy`; sigmoid for binary cross-entropy); ``predict`` returns
``classes_[argmax_k p_k]``. Labels are encoded as indices into the sorted
``classes_`` (``np.unique``) and mapped back on prediction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from caviar.losses import get_loss
from caviar.sklearn._base import CaviarEstimatorMixin, CaviarValueError
from caviar.sklearn._export import ExportableEstimator
from caviar.sklearn._params import PARAMS_DOC


class CaviarClassifier(CaviarEstimatorMixin, ExportableEstimator, ClassifierMixin, BaseEstimator):
    __doc__ = f"""Multilayer-perceptron classifier trained by caviar's population engine.

    Every knob of a caviar run is a constructor parameter; ``fit`` trains a
    population of one member. An array ``X`` is used as given (put a
    ``StandardScaler`` before it in a ``Pipeline``); a DataFrame is prepared as
    ``caviar train`` prepares a table (``preprocess``).

    Once fitted it exports like any trained model
    (:class:`~caviar.sklearn.ExportableEstimator`): ``to_torch()``,
    ``export("model.onnx")`` (or ``.pt``), ``save(directory)``, with its fitted
    preprocessing inside; before ``fit`` they raise ``NotFittedError``.

    Parameters
    ----------
{PARAMS_DOC}
    label_smoothing : float, default=0.0
        Label smoothing of the cross-entropy / KL losses, in [0, 1).
    class_weight : "balanced", dict or None, default=None
        Per-class loss weights: ``"balanced"`` gives class ``k`` the weight
        ``n / (n_classes * n_k)`` on the training rows; a dict ``{{label: weight}}``
        (labels as in ``y``; absent ones 1). They multiply ``sample_weight``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The sorted class labels.
    n_features_in_, feature_names_in_ : as in scikit-learn.
    coefs_, intercepts_ : lists of ndarrays
        Weight matrix ``(fan_in, fan_out)`` and bias ``(fan_out,)`` of each layer.
    config_ : caviar.config.RunConfig
        The configuration the member was trained with.
    preprocessor_ : caviar.data.Preprocessor or None
        The table preparation fitted on the training rows (DataFrame inputs), else None.
    input_shape_ : tuple of int or None
        One example's shape read from an image-shaped ``X`` ``(n, C, L)`` / ``(n, C, H, W)``.
    loss_name_, status_, n_iter_, best_epoch_, history_, best_validation_score_ :
        Resolved loss, member status (complete/early_stopped/converged/diverged), epochs run,
        epoch of the kept weights, per-epoch history, validation accuracy (early
        stopping only).
    """

    _task = "classification"
    _extra_paths = {"label_smoothing": "loss.label_smoothing"}

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
        label_smoothing=0.0,
        metric="auto",
        preprocess="auto",
        table_options=None,
        class_weight=None,
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
        self.label_smoothing = label_smoothing
        self.class_weight = class_weight
        self.metric = metric
        self.preprocess = preprocess
        self.table_options = table_options

    def _validate_xy(self, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
        """Validate, set ``classes_``; return float64 ``X`` and int64 class codes."""
        X, y = self._checked_xy(X, y)
        check_classification_targets(y)
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise CaviarValueError(
                f"{type(self).__name__} needs at least 2 classes; y has only one class "
                f"({classes[0]!r})"
            )
        self.classes_ = classes
        return X, codes.astype(np.int64)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_samples, n_classes)`` in the order of ``classes_``."""
        out = torch.as_tensor(self._outputs(X))[None]
        return get_loss(self.loss_name_).predict_proba(out)[0].numpy()

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row, in the original labels."""
        check_is_fitted(self, "config_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
