"""Exporting a trained model to plain PyTorch, TorchScript and ONNX.

* :meth:`TrainedModel.to_torch() <caviar.model.TrainedModel.to_torch>` /
  :func:`to_torch`: one plain ``torch.nn.Module`` (:class:`ExportedModel`);
* :meth:`TrainedModel.export(path) <caviar.model.TrainedModel.export>` /
  :func:`export_model`: an ``.onnx`` or TorchScript ``.pt`` file
  (``caviar export RUN/model OUT.onnx`` on the command line);
* :func:`encode_rows`: raw rows (strings included) -> the exported graph's numeric input;
* :func:`read_export_metadata`: what an exported file records about its input columns,
  categories, classes and output.

The exported graph takes one float input ``features (batch, C)``: the ``C`` training
columns in training order, numeric columns raw (the graph standardizes them) and
categorical columns as category codes (the graph one-hot encodes them). The graph holds
the preprocessing's numbers, the members' networks and the ensemble average;
:func:`encode_rows` (Python, needs Caviar) does the one step outside it, mapping
category values to codes. ONNX needs the ``export`` extra: ``pip install
'caviar[export]'`` (onnx, onnxscript, onnxruntime).
"""

from caviar.model.export_files import export_description, export_model, read_export_metadata
from caviar.model.export_inputs import encode_rows
from caviar.model.export_layers import ExportedModel
from caviar.model.export_torch import to_torch

__all__ = [
    "ExportedModel",
    "encode_rows",
    "export_description",
    "export_model",
    "read_export_metadata",
    "to_torch",
]
