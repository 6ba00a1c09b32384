"""The parameters shared by both estimators: their documentation (numpydoc, indented) and
the annotations the shared fitting code is checked against."""

from collections.abc import Callable
from typing import Any

import numpy as np


class EstimatorParams:
    """What an estimator provides to :class:`caviar.sklearn._base.CaviarEstimatorMixin`
    (annotations for the type checker: nothing is set here, scikit-learn's ``__init__``
    sets the parameters): the parameters that code reads, the input width and step 1."""

    hidden_layer_sizes: Any
    early_stopping: bool
    patience: int
    metric: str
    validation_fraction: float
    module: Any
    input_shape: Any
    preprocess: Any
    table_options: Any
    standardize_target: bool
    random_state: Any
    n_features_in_: int
    _validate_xy: Callable[[Any, Any], tuple[Any, np.ndarray]]


PARAMS_DOC = """\
    hidden_layer_sizes : tuple of int, default=(64,)
        Widths of the hidden layers (``()``: a linear model).
    activation : str, default="relu"
        relu, tanh, sigmoid, leaky_relu, elu, gelu, silu or softplus (ELU's alpha and
        softplus's beta at 1, as in torch.nn.functional).
    leaky_slope : float, default=0.01
        Negative slope of ``leaky_relu``.
    init : str, default="he_uniform"
        Weight initializer (zeros, normal, uniform, glorot_*, he_*, lecun_*).
    init_scale : float, default=0.05
        Sigma or bound of the ``normal``/``uniform`` initializers.
    output_init : {"prior", "default"}, default="prior"
        "prior": output weights 0 and biases set so the untrained network predicts
        the class frequencies / target mean (see the background page, *The output
        layer starts at the baseline*).
    loss : str, default="auto"
        "auto" is cross_entropy (classifier) or mse (regressor); also
        binary_cross_entropy, kl_divergence, hinge, squared_hinge / mae, huber,
        log_cosh.
    optimizer : str, default="adam"
        sgd, momentum, velocity_momentum, nesterov, adagrad, rmsprop, adam, adamw.
    learning_rate : float or None, default=None
        Step size; None takes the optimizer's default (1e-3 for adam).
    momentum, dampening, beta1, beta2, rho, eps, weight_decay : float or None
        Optimizer hyperparameters; None takes the optimizer's default.
    eps_inside_sqrt : bool or None, default=None
        RMSprop variant.
    schedule : str, default="constant"
        Learning-rate schedule in epochs: constant, exponential, inverse_time,
        step, cosine.
    schedule_k, schedule_factor, schedule_min_factor : float or None
        Schedule parameters (decay rate, step factor, cosine floor).
    warmup : float, default=0.0
        Linear warm-up length in epochs.
    l1_kernel, l2_kernel, l1_bias, l2_bias, l1_activity, l2_activity : float
        Penalty weights (see the background page, *L1 and L2 penalties*), default 0.
    batch_size : int or "full", default=32
        Mini-batch size (capped at the number of training rows).
    epochs : int, default=100
        Number of passes over the training rows.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (stratified for classifiers),
        stop after ``patience`` epochs without a validation-loss improvement larger
        than ``min_delta`` and keep the best weights. False: every row trains, all
        epochs run, the final weights are kept.
    patience : int, default=10
    min_delta : float, default=0.0
    validation_fraction : float, default=0.1
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, the mini-batch order and the validation split.
    dtype : {"float32", "float64"}, default="float32"
        Training precision (prediction is computed in float64).
    device : str, default="cpu"
    module : callable or None, default=None
        A factory ``module(model_cfg) -> torch.nn.Module`` (:mod:`caviar.nn.factory`) to
        train instead of the MLP (``hidden_layer_sizes``/``activation`` then reach the
        factory through ``model_cfg``); fitted weights are in ``module_tensors_``.
    input_shape : tuple of int or None, default=None
        One example's shape when the rows of ``X`` are flattened signals or images,
        e.g. ``(1, 8, 8)``; the module sees batches ``(B, *input_shape)``.
    metric : str, default="auto"
        The validation metric early stopping watches and whose best epoch is kept
        (``train.metric``: accuracy, balanced_accuracy, f1_macro, f1_weighted,
        precision, recall, roc_auc, log_loss / r2, rmse, mae); "auto" watches the
        validation loss.
    preprocess : {"auto", True, False}, default="auto"
        "auto": a DataFrame with a text, category or bool column or a missing value
        is prepared as ``caviar train`` prepares a table (missing values imputed with
        indicators, numeric columns standardized, text, category and bool columns
        one-hot; fitted on the training rows); arrays and complete numeric frames are
        used as given. True: always prepared; False: never (bring your own
        ``ColumnTransformer``).
    table_options : dict, TableOptions or None, default=None
        How a table is prepared: the ``[data]`` keys impute, fill_value,
        missing_indicator, categorical, max_onehot, min_frequency, unknown.
    verbose : int, default=0
        1: a progress bar while ``fit`` trains (epochs, best validation score, ETA;
        terminal or notebook, :mod:`caviar.progress`); 0: none.
"""
