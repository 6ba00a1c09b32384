"""A fitted estimator exported like any trained model.

:meth:`ExportableEstimator.to_trained_model` turns a fitted
:class:`~caviar.sklearn.CaviarClassifier` / :class:`~caviar.sklearn.CaviarRegressor` into
the :class:`~caviar.model.TrainedModel` of its one member; ``to_torch``, ``export`` and
``save`` are that model's own methods (:mod:`caviar.model.exportable`,
:mod:`caviar.model.export_files`), so an estimator exports through the same code, to the
same files, as a model trained by ``caviar train`` (:class:`ExportableEstimator` is
:class:`~caviar.model.exportable.Exportable` exporting :meth:`to_trained_model`). The
model holds:

* the member's weights as the estimator keeps them (``coefs_``/``intercepts_``, Caviar's
  ``(fan_in, fan_out)`` layout, or ``module_tensors_`` for a module population) and its
  activation parameter (leaky slope, ELU alpha, softplus beta);
* the estimator's fitted preprocessing as a :class:`~caviar.data.Preprocessor`
  (:func:`estimator_preprocessor`): the table preparation fitted on a DataFrame
  (``preprocessor_``: imputation, missing indicators, ``(x - mean) / std``, one-hot of
  categorical columns), or, for arrays used as given, one numeric column per input
  with mean 0 and standard deviation 1 (``(x - 0) / 1 = x``: nothing is applied, as the
  estimator applies nothing), missing values refused as ``predict`` refuses them;
* the labels: ``classes_`` in the estimator's order (the output columns), or the
  regression target's standardization ``y = out * target_std_ + target_mean_``.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from caviar.data import Preprocessor, TableOptions
from caviar.data.columns import NumericColumn, native_scalar
from caviar.model import TrainedModel
from caviar.model import network as networks
from caviar.model.exportable import Exportable
from caviar.nn.activations import activation_parameter
from caviar.sklearn._base import CaviarValueError


def estimator_preprocessor(est: Any) -> Preprocessor:
    """The preprocessing of a fitted estimator as a fitted :class:`Preprocessor` with its
    labels (module docstring); a one-line error for a standardized target of several
    outputs (a model file records one target's mean and standard deviation)."""
    name = type(est).__name__
    fitted = getattr(est, "preprocessor_", None)
    if fitted is not None:  # the table path: a copy, its labels set below
        pre = copy.deepcopy(fitted)
        pre.task = est._task
    else:  # arrays used as given: x -> (x - 0) / 1, missing values refused
        pre = Preprocessor(est._task, options=TableOptions(impute="none"))
        names = getattr(est, "feature_names_in_", None)
        if names is None:
            names = [f"x{i}" for i in range(est.n_features_in_)]
        pre.columns = [NumericColumn(str(c), 0.0, 1.0) for c in names]
        pre.fitted = True
    if est._task == "classification":
        classes = np.asarray(est.classes_)
        pre.classes_ = [native_scalar(c) for c in classes]
        pre.label_dtype = classes.dtype.name if classes.dtype.kind in "biuf" else "object"
        return pre
    pre.classes_, pre.label_dtype = None, "float64"
    pre.target_mean = pre.target_std = None
    if est.target_mean_ is not None:
        mean, std = np.ravel(est.target_mean_), np.ravel(est.target_std_)
        if len(mean) != 1:
            raise CaviarValueError(
                f"{name}: cannot export a regressor of {len(mean)} outputs trained with "
                "standardize_target=True (an exported model maps one standardized output "
                "back); refit with standardize_target=False"
            )
        pre.target_mean, pre.target_std = float(mean[0]), float(std[0])
    return pre


def estimator_model(est: Any) -> TrainedModel:
    """The :class:`~caviar.model.TrainedModel` of a fitted estimator's member."""
    config = est.config_
    common: dict[str, Any] = {
        "loss_name": est.loss_name_,
        "task": est._task,
        "leaky_slopes": [activation_parameter(config.model)],
        "preprocessor": estimator_preprocessor(est),
        "configs": [config.model_dump(mode="json")],
    }
    if hasattr(est, "network_"):  # a module population: its description and tensors
        net = networks.build(est.network_, 1, dtype=torch.float64, module=est.module)
        return TrainedModel(
            sizes=[int(net.n_params), int(net.n_outputs)],
            activation="module",
            member_tensors=[{k: torch.as_tensor(v) for k, v in est.module_tensors_.items()}],
            network=est.network_,
            module=est.module,
            **common,
        )
    tensors: dict[str, torch.Tensor] = {}
    for i, (w, b) in enumerate(zip(est.coefs_, est.intercepts_, strict=True)):
        tensors[f"layers.{i}.weight"] = torch.as_tensor(w, dtype=torch.float64)
        tensors[f"layers.{i}.bias"] = torch.as_tensor(b, dtype=torch.float64)
    return TrainedModel(
        sizes=[int(est.coefs_[0].shape[0]), *(int(w.shape[1]) for w in est.coefs_)],
        activation=config.model.activation,
        member_tensors=[tensors],
        **common,
    )


class ExportableEstimator(Exportable):
    """What a fitted estimator shares with a trained model: ``to_torch()`` and
    ``export(path, format=None, *, overwrite=False, dtype=torch.float32)`` (the
    :class:`~caviar.model.TrainedModel` methods, the same code, arguments and files;
    :doc:`/guide/export`), ``save(directory)`` and ``to_trained_model()``.

    ``to_torch`` gives a plain ``torch.nn.Module`` mapping ``features (B, C)`` to the
    probabilities of ``predict_proba`` (columns in ``classes_`` order) or the
    predictions of ``predict`` (``(B, n_outputs)``, in ``y``'s units); ``export`` writes
    it as ONNX (``.onnx``) or TorchScript (``.pt``). The estimator's fitted
    preprocessing is inside (module docstring); a pipeline's earlier steps are not.
    Before ``fit`` every method raises scikit-learn's ``NotFittedError``.

    Examples
    --------
    >>> import tempfile
    >>> import numpy as np, torch
    >>> from sklearn.datasets import load_iris
    >>> from caviar.sklearn import CaviarClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> est = CaviarClassifier(hidden_layer_sizes=(8,), epochs=3, random_state=0).fit(X, y)
    >>> net = est.to_torch(torch.float64)  # arrays go in as given
    >>> bool(np.allclose(net(torch.as_tensor(X)).numpy(), est.predict_proba(X), atol=1e-12))
    True
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     est.export(f"{folder}/iris.pt").name, est.save(f"{folder}/model").name
    ('iris.pt', 'model')
    """

    def _exported(self) -> TrainedModel:
        return self.to_trained_model()

    def to_trained_model(self) -> TrainedModel:
        """The fitted member as a :class:`~caviar.model.TrainedModel`.

        Returns
        -------
        caviar.model.TrainedModel
            One member: the estimator's weights, its fitted preprocessing (a DataFrame's
            table preparation; for arrays, ``(x - 0) / 1``: the inputs as given) and its
            labels or target standardization. Its ``predict`` / ``predict_proba`` equal
            the estimator's (:func:`caviar.export.encode_rows` takes it, or the estimator).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        """
        check_is_fitted(self, "config_")
        return estimator_model(self)

    def save(self, directory: str | Path) -> Path:
        """Write the fitted estimator as a Caviar model directory
        (:meth:`caviar.model.TrainedModel.save` of :meth:`to_trained_model`), which
        ``caviar.TrainedModel.load``, ``caviar predict`` and ``caviar export`` read.

        Parameters
        ----------
        directory
            The model directory to write (atomically).

        Returns
        -------
        pathlib.Path
            ``directory``.

        Raises
        ------
        sklearn.exceptions.NotFittedError
            Before ``fit``.
        """
        return self.to_trained_model().save(directory)
