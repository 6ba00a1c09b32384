"""A population of multilayer perceptrons in one set of tensors.

All members share one structure (input width, hidden widths, output width,
activation); each member has its own weights. The parameters of the whole
population live in a single tensor ``flat`` of shape ``(P, N)``: row ``p`` is
member ``p``'s parameters, and every layer's weight ``(P, fan_in, fan_out)`` and
bias ``(P, 1, fan_out)`` are views into it. One optimizer update therefore touches
one contiguous tensor, a member's parameters can be copied with one row copy
(population-based training), and second-order methods see a member as a vector.

Gradients land in ``flat.grad`` (same shape) without any copy: each layer view is
an autograd leaf whose ``.grad`` is preassigned to the matching view of
``flat.grad``, and autograd accumulates into an existing ``.grad`` in place.
(Differentiating through slices of one big leaf instead makes every slice's
backward allocate and fill a full ``(P, N)`` zero tensor: measured 60% of a
training step at P=64.) Call :meth:`zero_grad` before each backward pass.

Forward pass of layer l for all members at once (``torch.baddbmm``):

    z^[l] = a^[l-1] W^[l] + b^[l]        (P, B, fan_out)
    a^[l] = g(z^[l])                     hidden layers; the output layer is linear

The input is ``(B, F)`` shared by all members or ``(P, B, F)`` per member.

Optional per-layer steps (off unless asked for): input dropout before the first
layer; batch normalization of ``z`` before the activation of hidden layers
(then the layer has no bias); dropout after each hidden activation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from caviar.nn.activations import activate, check_activation
from caviar.nn.backprop import linear
from caviar.nn.batch_norm import batch_norm_eval, batch_norm_train
from caviar.nn.dropout import DropoutPass
from caviar.nn.init import check_initializer, init_weight


@dataclass(frozen=True)
class LayerSlice:
    """Where one dense layer's parameters sit inside a member's flat row.

    A layer followed by batch normalization has no bias (``bias_size = 0``) and
    holds the batch-norm scale ``gamma`` and shift ``beta`` at ``bn_start``.
    """

    fan_in: int
    fan_out: int
    weight_start: int
    bias_start: int
    bias_size: int = -1  # -1: fan_out
    bn_start: int = -1  # -1: no batch norm

    @property
    def has_bias(self) -> bool:
        return self.bias_size != 0

    @property
    def batch_norm(self) -> bool:
        return self.bn_start >= 0

    @property
    def end(self) -> int:
        if self.batch_norm:
            return self.bn_start + 2 * self.fan_out
        return self.bias_start + (self.fan_out if self.bias_size < 0 else self.bias_size)


def layer_slices(sizes: list[int], batch_norm: bool = False) -> list[LayerSlice]:
    """Offsets of each layer for widths ``sizes = [n_in, h1, ..., n_out]``.

    With ``batch_norm`` every hidden layer is ``[W, gamma, beta]`` (no bias);
    the output layer is always ``[W, b]``.
    """
    slices, offset = [], 0
    last = len(sizes) - 2
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        bias_start = offset + fan_in * fan_out
        if batch_norm and i < last:
            s = LayerSlice(fan_in, fan_out, offset, bias_start, 0, bias_start)
        else:
            s = LayerSlice(fan_in, fan_out, offset, bias_start)
        slices.append(s)
        offset = s.end
    return slices


warnings.filterwarnings("ignore", message="grad and param do not obey the gradient layout")


def _leaf(view: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """An autograd leaf sharing ``view``'s storage, accumulating into ``grad``."""
    leaf = view.detach().requires_grad_(True)
    leaf.grad = grad
    return leaf


class PopulationMLP:
    """``P`` MLPs of identical shape, parameters in one ``(P, N)`` tensor.

    With ``batch_norm=True`` every hidden layer is followed by batch
    normalization before its activation (:mod:`caviar.nn.batch_norm`): the
    layer has no bias, its ``gamma``/``beta`` sit in ``flat`` and its running
    mean and variance in the buffer ``stats`` ``(P, S)`` (outside ``flat``).
    """

    kind = "mlp"
    fixed_dropout = False  # dropout comes from the per-member rates of a DropoutPass only

    def __init__(
        self,
        sizes: list[int],
        population: int,
        *,
        activation: str = "relu",
        batch_norm: bool = False,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
            raise ValueError(f"invalid layer sizes {sizes}")
        self.sizes = [int(s) for s in sizes]
        self.population = int(population)
        self.activation = check_activation(activation)
        self.batch_norm = bool(batch_norm)
        self.slices = layer_slices(self.sizes, self.batch_norm)
        n_params = self.slices[-1].end
        self.flat = torch.zeros(population, n_params, dtype=dtype, device=device)
        self.flat.grad = torch.zeros_like(self.flat)
        self._weights = [
            _leaf(w, g)
            for w, g in zip(self.weights(self.flat), self.weights(self.flat.grad), strict=True)
        ]
        self._biases = [
            _leaf(b, g)
            for b, g in zip(self.biases(self.flat), self.biases(self.flat.grad), strict=True)
        ]
        self._bn = [
            (_leaf(gb[0], gg[0]), _leaf(gb[1], gg[1]))
            for gb, gg in zip(
                self.bn_params(self.flat), self.bn_params(self.flat.grad), strict=True
            )
        ]
        self._train_views: tuple | None = None
        self.bn_layers = [i for i, s in enumerate(self.slices) if s.batch_norm]
        widths = [self.slices[i].fan_out for i in self.bn_layers]
        # running statistics: [mean_1, var_1, mean_2, var_2, ...] per member
        self.stats = torch.zeros(population, 2 * sum(widths), dtype=dtype, device=device)
        for _, var in self.running_stats():
            var.fill_(1.0)

    def train_views(self) -> tuple[list[torch.Tensor], ...]:
        """Plain (non-leaf) views ``(weights, biases, grad weights, grad biases)`` of
        ``flat`` and ``flat.grad``, built once and reused every step (the hand-written
        backward pass, :mod:`caviar.nn.backprop`, reads and writes through them)."""
        grad = self.flat.grad
        cached = self._train_views
        if cached is None or cached[0] is not grad:
            f = self.flat.detach()
            cached = (grad, self.weights(f), self.biases(f), self.weights(grad), self.biases(grad))
            self._train_views = cached
        return cached[1:]

    def zero_grad(self) -> None:
        """Reset ``flat.grad`` (and so every layer's gradient) to zero."""
        grad = self.flat.grad
        assert grad is not None, "zero_grad before the first backward"
        grad.zero_()

    @property
    def n_outputs(self) -> int:
        """Outputs per example, ``K``."""
        return self.sizes[-1]

    @property
    def widest(self) -> int:
        """The widest layer (activations per example; sizes evaluation chunks)."""
        return max(self.sizes)

    @property
    def n_params(self) -> int:
        """Parameters per member."""
        return self.flat.shape[1]

    def weights(self, flat: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Weight views ``(P, fan_in, fan_out)``, layer by layer (of ``flat`` if given)."""
        if flat is None:
            return self._weights
        f = flat
        return [
            f[:, s.weight_start : s.bias_start].view(f.shape[0], s.fan_in, s.fan_out)
            for s in self.slices
        ]

    def biases(self, flat: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Bias views ``(P, 1, fan_out)`` of the layers that have a bias (of ``flat`` if given)."""
        if flat is None:
            return self._biases
        f = flat
        return [
            f[:, s.bias_start : s.bias_start + s.fan_out].view(f.shape[0], 1, s.fan_out)
            for s in self.slices
            if s.has_bias
        ]

    def bn_params(
        self, flat: torch.Tensor | None = None
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``(gamma, beta)`` views ``(P, 1, F)`` of the batch-normalized layers."""
        if flat is None:
            return self._bn
        f, out = flat, []
        for s in self.slices:
            if s.batch_norm:
                g = f[:, s.bn_start : s.bn_start + s.fan_out].view(f.shape[0], 1, s.fan_out)
                b = f[:, s.bn_start + s.fan_out : s.end].view(f.shape[0], 1, s.fan_out)
                out.append((g, b))
        return out

    def running_stats(
        self, stats: torch.Tensor | None = None
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """``(running_mean, running_var)`` views ``(P, F)`` of the batch-normalized layers."""
        st = self.stats if stats is None else stats
        out, offset = [], 0
        for i in self.bn_layers:
            w = self.slices[i].fan_out
            out.append((st[:, offset : offset + w], st[:, offset + w : offset + 2 * w]))
            offset += 2 * w
        return out

    @torch.no_grad()
    def initialize(
        self,
        seeds: list[int],
        *,
        init: str = "he_uniform",
        scale: list[float] | np.ndarray | float = 0.05,
        output_bias: np.ndarray | None = None,
    ) -> None:
        """Draw every member's weights from its own seed (see ``caviar.nn.init``).

        With ``output_bias`` given, the output layer follows the baseline output
        initialization (:ref:`bg-output-init`): weights zero and bias ``output_bias``.
        Batch-norm layers start at ``gamma = 1``, ``beta = 0`` (:ref:`bg-batch-norm`) with
        running mean 0 and running variance 1.
        """
        check_initializer(init)
        if len(seeds) != self.population:
            raise ValueError(f"{len(seeds)} seeds for a population of {self.population}")
        scales = np.broadcast_to(np.asarray(scale, dtype=np.float64), (self.population,))
        dtype = self.flat.dtype
        rows = torch.zeros(self.population, self.n_params, dtype=dtype)
        drawn: dict[tuple[int, float], int] = {}  # members sharing a seed and scale
        for p, seed in enumerate(seeds):
            key = (int(seed), float(scales[p]))
            if key in drawn:  # the same draw: copy it
                rows[p] = rows[drawn[key]]
                continue
            drawn[key] = p
            gen = torch.Generator().manual_seed(int(seed))
            for i, s in enumerate(self.slices):
                if output_bias is not None and i == len(self.slices) - 1:
                    rows[p, s.bias_start : s.end] = torch.as_tensor(output_bias, dtype=dtype)
                    continue
                w = init_weight(
                    init, s.fan_in, s.fan_out, scale=float(scales[p]), generator=gen, dtype=dtype
                )
                rows[p, s.weight_start : s.bias_start] = w.reshape(-1)
                if s.batch_norm:
                    rows[p, s.bn_start : s.bn_start + s.fan_out] = 1.0
        self.flat.copy_(rows.to(self.flat.device))
        self.stats.zero_()
        for _, var in self.running_stats():
            var.fill_(1.0)

    def __call__(
        self,
        x: torch.Tensor,
        *,
        slope: torch.Tensor | None = None,
        flat: torch.Tensor | None = None,
        stats: torch.Tensor | None = None,
        return_activities: bool = False,
        dropout: DropoutPass | None = None,
        bn_update: tuple[torch.Tensor, torch.Tensor | None] | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Outputs ``(P, B, n_out)`` for inputs ``(B, F)`` or ``(P, B, F)``.

        ``flat`` evaluates other parameters of the same layout (e.g. a member's
        best snapshot), ``stats`` other running statistics; ``return_activities``
        also returns the hidden activations (for activity penalties).

        Training-mode options (both off by default, i.e. evaluation mode):
        ``dropout`` applies per-member dropout (:class:`DropoutPass`);
        ``bn_update = (momentum, alive)`` makes batch norm use the batch
        statistics and update the running ones of ``stats`` in place; without
        it batch norm uses the running statistics (test time, :ref:`bg-batch-norm`).
        """
        n = self.population if flat is None else flat.shape[0]
        if dropout is not None:
            x = dropout.apply(x, None)
        h = x if x.dim() == 3 else x.unsqueeze(0).expand(n, -1, -1)
        activities: list[torch.Tensor] = []
        weights = self.weights(flat)
        biases = iter(self.biases(flat))
        bn = iter(zip(self.bn_params(flat), self.running_stats(stats), strict=True))
        last = len(weights) - 1
        for i, (w, s) in enumerate(zip(weights, self.slices, strict=True)):
            h = linear(h, w, next(biases) if s.has_bias else None)
            if s.batch_norm:
                (gamma, beta), (mean, var) = next(bn)
                if bn_update is None:
                    h = batch_norm_eval(h, gamma, beta, mean, var)
                else:
                    h = batch_norm_train(h, gamma, beta, mean, var, bn_update[0], bn_update[1])
            if i < last:
                h = activate(self.activation, h, slope)
                activities.append(h)
                if dropout is not None:
                    h = dropout.apply(h, i)
        return (h, activities) if return_activities else h

    def member_tensors(self, member: int) -> dict[str, torch.Tensor]:
        """One member's parameters (and batch-norm running statistics) as named tensors:
        contiguous CPU copies, never views of ``flat`` (training on would change them)."""
        out: dict[str, torch.Tensor] = {}
        row = self.flat.detach()[member : member + 1]
        stats = self.stats[member : member + 1]
        weights, biases = self.weights(row), iter(self.biases(row))
        bn = iter(zip(self.bn_params(row), self.running_stats(stats), strict=True))
        for i, (w, s) in enumerate(zip(weights, self.slices, strict=True)):
            out[f"layers.{i}.weight"] = w[0].to(
                "cpu", copy=True, memory_format=torch.contiguous_format
            )
            if s.has_bias:
                out[f"layers.{i}.bias"] = next(biases)[0, 0].to(
                    "cpu", copy=True, memory_format=torch.contiguous_format
                )
            if s.batch_norm:
                (g, b), (m, v) = next(bn)
                out[f"layers.{i}.bn.weight"] = g[0, 0].to(
                    "cpu", copy=True, memory_format=torch.contiguous_format
                )
                out[f"layers.{i}.bn.bias"] = b[0, 0].to(
                    "cpu", copy=True, memory_format=torch.contiguous_format
                )
                out[f"layers.{i}.bn.running_mean"] = m[0].to(
                    "cpu", copy=True, memory_format=torch.contiguous_format
                )
                out[f"layers.{i}.bn.running_var"] = v[0].to(
                    "cpu", copy=True, memory_format=torch.contiguous_format
                )
        return out

    @torch.no_grad()
    def load_member_tensors(self, tensors: dict[str, torch.Tensor], member: int = 0) -> None:
        """Inverse of :meth:`member_tensors`."""
        row = self.flat[member : member + 1]
        stats = self.stats[member : member + 1]
        biases = iter(self.biases(row))
        bn = iter(zip(self.bn_params(row), self.running_stats(stats), strict=True))
        for i, (dst, s) in enumerate(zip(self.weights(row), self.slices, strict=True)):
            w = tensors[f"layers.{i}.weight"]
            if tuple(w.shape) != (s.fan_in, s.fan_out):
                raise ValueError(
                    f"layer {i} has shape {tuple(w.shape)}, expected {(s.fan_in, s.fan_out)}"
                )
            dst[0].copy_(w.to(self.flat))
            parts = []
            if s.has_bias:
                parts.append((next(biases)[0, 0], tensors[f"layers.{i}.bias"]))
            if s.batch_norm:
                (g, b), (m, v) = next(bn)
                for name, t in (("weight", g[0, 0]), ("bias", b[0, 0])):
                    parts.append((t, tensors[f"layers.{i}.bn.{name}"]))
                for name, t in (("running_mean", m[0]), ("running_var", v[0])):
                    parts.append((t, tensors[f"layers.{i}.bn.{name}"]))
            for target, value in parts:
                if tuple(value.shape) != (s.fan_out,):
                    raise ValueError(f"layer {i} has a vector of shape {tuple(value.shape)}")
                target.copy_(value.to(target))
