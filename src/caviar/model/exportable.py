"""The export methods of :class:`~caviar.model.TrainedModel` (a mixin, so the heavy
exporters are imported only when a model is exported)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:  # the module classes, for the annotations only
    from caviar.model.export_layers import ExportedModel


class Exportable:
    """``to_torch`` and ``export`` of a trained model (:mod:`caviar.model.export_torch`,
    :mod:`caviar.model.export_files`), of the model :meth:`_exported` names: the object
    itself, or for a fitted scikit-learn estimator its
    :class:`~caviar.model.TrainedModel` (:class:`caviar.sklearn.ExportableEstimator`)."""

    def _exported(self) -> Any:
        """The trained model the methods export (this one)."""
        return self

    def to_torch(self, dtype: torch.dtype = torch.float32) -> ExportedModel:
        """This model as one plain ``torch.nn.Module`` in eval mode.

        Parameters
        ----------
        dtype
            Floating dtype of the module's weights and of its input.

        Returns
        -------
        ExportedModel
            ``features (B, C) -> probabilities (B, n_classes)`` (classification) or
            ``predictions (B, K)`` (regression): the preprocessing, every member's
            network (``torch.nn`` layers, ``nn.Linear`` layout) and the ensemble's
            mean, with no Caviar code in its forward pass. ``features`` holds the raw
            training columns, categorical ones as category codes
            (:func:`caviar.export.encode_rows`).

        Examples
        --------
        >>> net = model.to_torch()  # doctest: +SKIP
        >>> proba = net(torch.as_tensor(caviar.export.encode_rows(model, frame)))  # doctest: +SKIP
        """
        from caviar.model.export_torch import to_torch

        return to_torch(self._exported(), dtype)

    def export(
        self,
        path: str | Path,
        format: str | None = None,
        *,
        overwrite: bool = False,
        dtype: torch.dtype = torch.float32,
    ) -> Path:
        """Write this model as an ONNX (``.onnx``) or TorchScript (``.pt``) file.

        Parameters
        ----------
        path
            The file to write (written to a temporary file, then renamed).
        format
            ``"onnx"`` or ``"torchscript"``; by default the one ``path``'s suffix names.
        overwrite
            Replace an existing file (refused otherwise).
        dtype
            ``torch.float32`` (default) or ``torch.float64``.

        Returns
        -------
        pathlib.Path
            ``path``. The file takes ``features (batch, C)`` (dynamic batch) and records
            its columns (:func:`caviar.export.read_export_metadata`).

        Examples
        --------
        >>> model.export("model.onnx")  # doctest: +SKIP
        """
        from caviar.model.export_files import export_model

        return export_model(self._exported(), path, format, overwrite=overwrite, dtype=dtype)
