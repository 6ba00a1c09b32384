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
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from caviar.nn.activations import activate, check_activation
from caviar.nn.init import check_initializer, init_weight


@dataclass(frozen=True)
class LayerSlice:
    """Where one dense layer's weight and bias sit inside a member's flat row."""

    fan_in: int
    fan_out: int
    weight_start: int
    bias_start: int

    @property
    def end(self) -> int:
        return self.bias_start + self.fan_out


def layer_slices(sizes: list[int]) -> list[LayerSlice]:
    """Offsets of each layer for widths ``sizes = [n_in, h1, ..., n_out]``."""
    slices, offset = [], 0
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        slices.append(LayerSlice(fan_in, fan_out, offset, offset + fan_in * fan_out))
        offset += fan_in * fan_out + fan_out
    return slices


warnings.filterwarnings("ignore", message="grad and param do not obey the gradient layout")


def _leaf(view: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """An autograd leaf sharing ``view``'s storage, accumulating into ``grad``."""
    leaf = view.detach().requires_grad_(True)
    leaf.grad = grad
    return leaf


class PopulationMLP:
    """``P`` MLPs of identical shape, parameters in one ``(P, N)`` tensor."""

    def __init__(
        self,
        sizes: list[int],
        population: int,
        *,
        activation: str = "relu",
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
            raise ValueError(f"invalid layer sizes {sizes}")
        self.sizes = [int(s) for s in sizes]
        self.population = int(population)
        self.activation = check_activation(activation)
        self.slices = layer_slices(self.sizes)
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

    def zero_grad(self) -> None:
        """Reset ``flat.grad`` (and so every layer's gradient) to zero."""
        self.flat.grad.zero_()

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
        """Bias views ``(P, 1, fan_out)``, layer by layer (of ``flat`` if given)."""
        if flat is None:
            return self._biases
        f = flat
        return [f[:, s.bias_start : s.end].view(f.shape[0], 1, s.fan_out) for s in self.slices]

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

        With ``output_bias`` given, the output layer follows seed 004's output
        initialization: weights zero and bias ``output_bias``.
        """
        check_initializer(init)
        if len(seeds) != self.population:
            raise ValueError(f"{len(seeds)} seeds for a population of {self.population}")
        scales = np.broadcast_to(np.asarray(scale, dtype=np.float64), (self.population,))
        dtype = self.flat.dtype
        rows = torch.zeros(self.population, self.n_params, dtype=dtype)
        for p, seed in enumerate(seeds):
            gen = torch.Generator().manual_seed(int(seed))
            for i, s in enumerate(self.slices):
                if output_bias is not None and i == len(self.slices) - 1:
                    rows[p, s.bias_start : s.end] = torch.as_tensor(output_bias, dtype=dtype)
                    continue
                w = init_weight(
                    init, s.fan_in, s.fan_out, scale=float(scales[p]), generator=gen, dtype=dtype
                )
                rows[p, s.weight_start : s.bias_start] = w.reshape(-1)
        self.flat.copy_(rows.to(self.flat.device))

    def __call__(
        self,
        x: torch.Tensor,
        *,
        slope: torch.Tensor | None = None,
        flat: torch.Tensor | None = None,
        return_activities: bool = False,
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Outputs ``(P, B, n_out)`` for inputs ``(B, F)`` or ``(P, B, F)``.

        ``flat`` evaluates other parameters of the same layout (e.g. a member's
        best snapshot); ``return_activities`` also returns the hidden activations
        (for activity penalties).
        """
        n = self.population if flat is None else flat.shape[0]
        h = x if x.dim() == 3 else x.unsqueeze(0).expand(n, -1, -1)
        activities: list[torch.Tensor] = []
        weights, biases = self.weights(flat), self.biases(flat)
        last = len(weights) - 1
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            h = torch.baddbmm(b, h, w)
            if i < last:
                h = activate(self.activation, h, slope)
                activities.append(h)
        return (h, activities) if return_activities else h

    def member_tensors(self, member: int) -> dict[str, torch.Tensor]:
        """One member's parameters as named tensors (for safetensors files)."""
        out: dict[str, torch.Tensor] = {}
        row = self.flat.detach()[member : member + 1]
        for i, (w, b) in enumerate(zip(self.weights(row), self.biases(row), strict=True)):
            out[f"layers.{i}.weight"] = w[0].contiguous().cpu()
            out[f"layers.{i}.bias"] = b[0, 0].contiguous().cpu()
        return out

    @torch.no_grad()
    def load_member_tensors(self, tensors: dict[str, torch.Tensor], member: int = 0) -> None:
        """Inverse of :meth:`member_tensors`."""
        for i, s in enumerate(self.slices):
            w = tensors[f"layers.{i}.weight"]
            b = tensors[f"layers.{i}.bias"]
            if tuple(w.shape) != (s.fan_in, s.fan_out) or tuple(b.shape) != (s.fan_out,):
                raise ValueError(
                    f"layer {i} has shape {tuple(w.shape)}, expected {(s.fan_in, s.fan_out)}"
                )
            self.flat[member, s.weight_start : s.bias_start] = w.reshape(-1).to(self.flat)
            self.flat[member, s.bias_start : s.end] = b.to(self.flat)
