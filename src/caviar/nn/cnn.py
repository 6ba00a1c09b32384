"""The built-in convolutional network (``model.kind = "cnn"``), a module factory.

For one example of shape ``(C, L)`` (signals: 1-D convolutions) or ``(C, H, W)``
(images: 2-D convolutions; a flat ``(F,)`` input is read as a one-channel signal):

    for c in model.channels:   conv(c, kernel_size, stride, padding = kernel_size // 2)
                               -> [batch norm] -> activation -> [pool 2x2 (max / avg)]
                               (max pooling runs before the activation: the same values,
                               max(f(a), f(b)) = f(max(a, b)) for a non-decreasing f)
    flatten
    for h in model.hidden:     linear(h) -> [batch norm] -> activation -> dropout
    linear(K)

Convolutions share weights across positions, which suits signals and images (a shift of
the input shifts the features); pooling halves each spatial axis. The dense head, the
activation (``leaky_relu`` with each member's own slope), batch norm (each member's own
``model.bn_momentum`` and running statistics; layers before batch norm have no bias) and
dropout (each member's ``model.dropout``) are the MLP's knobs. Kernels are initialized by
``model.init`` with the fan-in and fan-out of a convolution (``in·k`` and ``out·k``, as
``torch.nn.init`` counts them); ``model.output_init = "prior"`` starts the output layer at
weights 0 and the baseline bias (:ref:`bg-output-init`), as for the MLP.
"""

from __future__ import annotations

import math
from typing import Any, cast

import torch
from torch import nn

from caviar.errors import CaviarError
from caviar.nn.layers import BatchNorm1d, BatchNorm2d, Dropout, LeakyReLU


def _activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU(inplace=True)  # its input (a pool's, conv's or norm's output) is not reused
    if name == "tanh":
        return nn.Tanh()
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "leaky_relu":
        return LeakyReLU(None)
    raise CaviarError(
        f"the CNN has no activation '{name}' (choose from: sigmoid, tanh, relu, leaky_relu)"
    )


class MaxPool2(nn.Module):
    """Max pooling of 2 along every spatial axis (``dims`` of them), floor mode: per axis,
    the max of each pair ``(x[2i], x[2i + 1])``, the first of equal values in row-major
    order winning (as ``max_pool*d(2)`` picks: the last axis is reduced first, so each
    row's first maximum competes with the rows after it). The pairs are the two halves of
    the axis split as ``(m/2, 2)`` and unbound, and a select picks the larger: no index
    tensor as ``max_pool*_with_indices`` keeps for its backward (under ``vmap`` that
    kernel was 40% of a CNN population's step), and the backward pass stacks the two
    halves' gradients in one write (strided slices would zero-fill a gradient of the
    whole input for each half and add them)."""

    def __init__(self, dims: int) -> None:
        super().__init__()
        self.dims = int(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``y = max(x[2i], x[2i + 1])`` along each of the last ``dims`` axes."""
        for axis in reversed(range(x.dim() - self.dims, x.dim())):  # last axis first: row-major
            m = x.shape[axis] // 2 * 2
            if m != x.shape[axis]:  # floor mode: an odd length drops its last value
                x = x.narrow(axis, 0, m)
            even, odd = x.unflatten(axis, (m // 2, 2)).unbind(axis + 1)
            x = torch.where(odd > even, odd, even)
        return x


def _activation_then(name: str, pool: nn.Module | None) -> list[nn.Module]:
    """The activation and the pooling that follows it, in the order that does less work:
    a max pool before a non-decreasing activation (every activation here; the leaky slope
    is >= 0) pools the pre-activations, ``max(f(a), f(b)) = f(max(a, b))``, so the
    activation runs on half (1-D) or a quarter (2-D) of the values."""
    act = _activation(name)
    if pool is None:
        return [act]
    if isinstance(pool, MaxPool2):
        return [pool, act]
    return [act, pool]


def _init_kernel(w: torch.Tensor, init: str, scale: float) -> None:
    """``model.init`` for a kernel (torch layout ``(out, in, *k)``)."""
    gains = {"he": math.sqrt(2.0), "lecun": 1.0}
    if init == "zeros":
        nn.init.zeros_(w)
    elif init == "normal":
        nn.init.normal_(w, 0.0, scale)
    elif init == "uniform":
        nn.init.uniform_(w, -scale, scale)
    elif init.startswith("glorot"):
        (nn.init.xavier_uniform_ if init.endswith("uniform") else nn.init.xavier_normal_)(w)
    else:  # he_* / lecun_*: variance gain^2 / fan_in
        family, kind = init.split("_")
        fan_in = w[0].numel()
        std = gains[family] / math.sqrt(fan_in)
        if kind == "uniform":
            nn.init.uniform_(w, -std * math.sqrt(3.0), std * math.sqrt(3.0))
        else:
            nn.init.normal_(w, 0.0, std)


def build_cnn(cfg: dict[str, Any]) -> nn.Module:
    """The network described above for ``cfg`` (a ``[model]`` section plus ``input_shape``
    and ``n_outputs``)."""
    shape = [int(s) for s in cfg["input_shape"]]
    layers: list[nn.Module] = []
    if len(shape) == 1:
        layers.append(nn.Unflatten(1, (1, shape[0])))
        shape = [1, shape[0]]
    if len(shape) not in (2, 3):
        raise CaviarError(
            f"the CNN needs examples of shape (C, L) or (C, H, W), got {tuple(shape)}: "
            "set data.shape"
        )
    two_d = len(shape) == 3
    conv = nn.Conv2d if two_d else nn.Conv1d
    bn = BatchNorm2d if two_d else BatchNorm1d
    pool = {
        "max": lambda: MaxPool2(2 if two_d else 1),
        "avg": lambda: (nn.AvgPool2d if two_d else nn.AvgPool1d)(2),
    }
    use_bn, k, stride = bool(cfg.get("batch_norm")), int(cfg["kernel_size"]), int(cfg["stride"])
    channels, spatial = shape[0], shape[1:]
    for c in cfg["channels"]:
        layers.append(conv(channels, int(c), k, stride=stride, padding=k // 2, bias=not use_bn))
        spatial = [(s + 2 * (k // 2) - k) // stride + 1 for s in spatial]
        if use_bn:
            layers.append(bn(int(c), momentum=None))
        pooled = cfg["pool"] != "none" and min(spatial) >= 2
        layers += _activation_then(cfg["activation"], pool[cfg["pool"]]() if pooled else None)
        if pooled:
            spatial = [s // 2 for s in spatial]
        channels = int(c)
        if min(spatial) < 1:
            raise CaviarError(
                f"the CNN's input {tuple(shape)} is too small for "
                f"{len(cfg['channels'])} conv layers"
            )
    layers.append(nn.Flatten())
    head = dense_head(channels * math.prod(spatial), cfg)
    net = nn.Sequential(*layers, *head)
    init_network(net, cast(nn.Linear, head[-1]), cfg)  # dense_head ends with a Linear
    return net


def dense_head(width: int, cfg: dict[str, Any]) -> nn.Sequential:
    """The dense head for features of ``width``: ``linear(h) -> [batch norm] -> activation
    -> dropout`` for each ``h`` of ``cfg["hidden"]``, then ``linear(n_outputs)`` (its
    weights as torch creates them: :func:`init_network` sets them)."""
    use_bn = bool(cfg.get("batch_norm"))
    layers: list[nn.Module] = []
    for h in cfg.get("hidden", []):
        layers.append(nn.Linear(width, int(h), bias=not use_bn))
        if use_bn:
            layers.append(BatchNorm1d(int(h), momentum=None))
        layers += [_activation(cfg.get("activation", "relu")), Dropout(None)]
        width = int(h)
    layers.append(nn.Linear(width, int(cfg["n_outputs"])))
    return nn.Sequential(*layers)


@torch.no_grad()
def init_network(net: nn.Module, out: nn.Linear, cfg: dict[str, Any]) -> None:
    """``model.init`` for every convolution and linear kernel of ``net`` but the output
    layer ``out`` (biases 0), in module order; ``model.output_init = "prior"``: ``out``
    starts at weights 0 and the baseline bias."""
    for m in net.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)) and m is not out:
            init, scale = cfg.get("init", "he_uniform"), float(cfg.get("init_scale", 0.05))
            _init_kernel(m.weight, init, scale)
            if m.bias is not None:
                m.bias.zero_()
    if cfg.get("output_init") == "prior" and cfg.get("output_bias") is not None:
        out.weight.zero_()
        out.bias.copy_(torch.as_tensor(cfg["output_bias"], dtype=out.bias.dtype))
