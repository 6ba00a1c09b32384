"""The plain ``torch.nn`` modules an exported model is made of.

An exported model (:func:`caviar.model.export_torch.to_torch`) is one module

    features (B, C) -> Preprocess -> network of each member -> member output
                    -> mean over the members -> output transform

whose forward pass uses torch operations only (no Caviar code runs in it), whose state
holds parameters and buffers only, and which ``torch.jit.script`` and
``torch.onnx.export`` accept. Its input ``features`` has one column per input column of
the training data, in training order: a numeric column as its raw value, a categorical
column as the *code* of its category (the index into the categories ``model.json``
lists; any other value, e.g. -1, is an unknown category), see
:func:`caviar.model.export_inputs.encode_rows`.

Each preprocessing step maps the whole input to a block of model features; the blocks
are concatenated in step order, which is the order of the fitted preprocessing:

* :class:`Standardize`: ``(x_j - mean_j) / std_j`` for a run of numeric columns, a
  missing value (NaN) first replaced by the column's fill value;
* :class:`MissingIndicator`: ``isnan(x_j)`` as 0/1, after a column fitted with one;
* :class:`OneHot`: ``[x[:, j] == c for c = 0 .. k-1]``, the ``k`` indicators of one
  categorical column (any other code gives all zeros, as the fitted preprocessing does).

Member outputs ``(M, B, K)`` become probabilities per member (:class:`SoftmaxProba`,
:class:`SigmoidProba`, then :class:`VoteShare` for a vote) or stay values
(regression); their mean over the members is the ensemble's prediction, and
:class:`Affine` puts a standardized regression target back in its units.
"""

from __future__ import annotations

import torch
from torch import nn


class Standardize(nn.Module):
    """``(x - mean) / std`` of the numeric input columns ``columns``, a missing value
    (NaN) first replaced by its column's ``fill`` value (imputation)."""

    columns: torch.Tensor  # buffers (annotations for the type checker only)
    fill: torch.Tensor
    mean: torch.Tensor
    std: torch.Tensor

    def __init__(
        self, columns: list[int], fill: torch.Tensor, mean: torch.Tensor, std: torch.Tensor
    ) -> None:
        super().__init__()
        self.register_buffer("columns", torch.as_tensor(columns, dtype=torch.int64))
        self.register_buffer("fill", fill.clone())
        self.register_buffer("mean", mean.clone())
        self.register_buffer("std", std.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.index_select(1, self.columns)
        return (torch.where(torch.isnan(x), self.fill, x) - self.mean) / self.std


class MissingIndicator(nn.Module):
    """``isnan(x[:, column])`` as 0/1: the indicator of a missing numeric value."""

    def __init__(self, column: int) -> None:
        super().__init__()
        self.column = int(column)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.isnan(x[:, self.column : self.column + 1]).to(x.dtype)


class OneHot(nn.Module):
    """``[x[:, column] == c for c in 0 .. k-1]``: the one-hot indicators of a category code
    (a code outside ``0 .. k-1``, such as -1 for an unknown category, gives zeros)."""

    codes: torch.Tensor  # a buffer

    def __init__(self, column: int, n_categories: int, dtype: torch.dtype) -> None:
        super().__init__()
        self.column = int(column)
        self.register_buffer("codes", torch.arange(int(n_categories), dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x[:, self.column : self.column + 1] == self.codes).to(x.dtype)


class Preprocess(nn.Module):
    """Raw input columns ``(B, C)`` -> model features ``(B, F)``: the steps' blocks
    concatenated in order."""

    def __init__(self, steps: list[nn.Module]) -> None:
        super().__init__()
        self.steps = nn.ModuleList(steps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        blocks: list[torch.Tensor] = []
        for step in self.steps:
            blocks.append(step(x))
        return torch.cat(blocks, dim=1)


class SoftmaxProba(nn.Module):
    """Class probabilities ``softmax(z)`` over the last axis."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.softmax(z, dim=-1)


class SigmoidProba(nn.Module):
    """Probabilities of sigmoid outputs: one output ``z`` -> ``[σ(-z), σ(z)]``; ``K``
    outputs -> the sigmoids normalized to sum to one, ``softmax(log σ(z))``."""

    def __init__(self, single_output: bool) -> None:
        super().__init__()
        self.single_output = bool(single_output)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.single_output:
            return torch.cat([torch.sigmoid(-z), torch.sigmoid(z)], dim=-1)
        return torch.softmax(nn.functional.logsigmoid(z), dim=-1)


class VoteShare(nn.Module):
    """One member's vote: the one-hot indicator of its most probable class (the first
    one on a tie, as ``argmax`` picks), so the mean over members is each class's share."""

    classes: torch.Tensor  # a buffer

    def __init__(self, n_classes: int) -> None:
        super().__init__()
        self.register_buffer("classes", torch.arange(int(n_classes), dtype=torch.int64))

    def forward(self, p: torch.Tensor) -> torch.Tensor:
        return (p.argmax(dim=-1, keepdim=True) == self.classes).to(p.dtype)


class Affine(nn.Module):
    """``y * scale + shift``: a standardized regression target back in its units."""

    scale: torch.Tensor  # buffers
    shift: torch.Tensor

    def __init__(self, scale: float, shift: float) -> None:
        super().__init__()
        self.register_buffer("scale", torch.tensor(float(scale), dtype=torch.float64))
        self.register_buffer("shift", torch.tensor(float(shift), dtype=torch.float64))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        return y * self.scale + self.shift


class ExportedModel(nn.Module):
    """Raw feature rows ``features (B, C)`` -> probabilities ``(B, n_classes)``
    (classification) or predictions ``(B, K)`` (regression).

    ``preprocess``: the fitted preprocessing as tensor steps; ``networks``: one plain
    network per member, each mapping ``(B, F)`` to outputs ``(B, K)``;
    ``member_output``: outputs ``(M, B, K)`` -> per-member probabilities or votes (the
    identity for regression); ``output``: the transform of the members' mean (the
    identity unless a fitted target scaling is to be inverted).
    """

    def __init__(
        self,
        preprocess: nn.Module,
        networks: list[nn.Module],
        member_output: nn.Module,
        output: nn.Module,
    ) -> None:
        super().__init__()
        self.preprocess = preprocess
        self.networks = nn.ModuleList(networks)
        self.member_output = member_output
        self.output = output

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        h = self.preprocess(features)
        outs: list[torch.Tensor] = []
        for net in self.networks:
            outs.append(net(h))
        return self.output(self.member_output(torch.stack(outs)).mean(dim=0))
