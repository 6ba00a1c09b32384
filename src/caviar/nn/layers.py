"""Population-aware drop-in layers for any ``nn.Module`` (``caviar.nn.Dropout``, ...).

A user's module runs inside :class:`caviar.nn.module.PopulationModule` once per member
(``torch.func.vmap`` over the member axis). Three things cannot come from the module's
own ``torch.nn`` layers there, and these layers provide them:

* **per-member knobs**: ``Dropout(p=None)`` takes each member's ``model.dropout``,
  ``BatchNorm*(momentum=None)`` its ``model.bn_momentum`` and ``LeakyReLU(None)`` its
  ``model.leaky_slope``, so those knobs can differ between members of one population;
  a number fixes the value for every member (as in ``torch.nn``);
* **independent random streams**: a dropout mask is a pure function of the member's
  seed, the training step and the layer (:mod:`caviar.nn.random`), so a member draws
  the same masks alone or among 64 (``torch``'s global generator would not);
* **per-member running statistics**: batch norm records each member's batch mean and
  variance during the forward pass and the population updates the running ones after
  it, outside ``vmap``, for alive members only.

Inverted dropout (:ref:`bg-dropout`): ``h <- h ⊙ [u >= rate] / (1 -
rate)`` in training, the identity in evaluation. Batch norm (:ref:`bg-batch-norm`): ``z~ = γ (z −
μ_B) / sqrt(σ²_B + ε) + β`` over the batch and spatial axes in training, with
``running <- (1 − m) running + m stat`` (unbiased variance) — the formulas of
``torch.nn.BatchNorm1d``/``2d``, so a member equals the torch module trained alone.

:func:`convert_layers` replaces a module's ``torch.nn.Dropout``, ``BatchNorm1d``/``2d``
and ``LeakyReLU`` by these (keeping their rates, momenta, epsilons and affine weights);
``CONVERTERS`` maps other ``torch.nn`` classes to functions returning their caviar
replacement (:mod:`caviar.nn.recurrent` adds torch's recurrent layers and cells); any
other layer is used as it is.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

import torch
from torch import nn

from caviar.errors import CaviarError
from caviar.nn import random as rnd

#: Stream ids of module dropout layers: STREAM_MODULE_DROPOUT + the layer's index.
STREAM_MODULE_DROPOUT = 4096

_local = threading.local()

#: ``torch.nn`` class -> function returning the caviar layer that replaces an instance.
CONVERTERS: dict[type, Callable[[nn.Module], nn.Module]] = {}


@dataclass
class PassContext:
    """What the layers of one vmapped member call see (set by ``PopulationModule``).

    ``knobs`` are this member's values (0-d tensors inside ``vmap``): ``seed``,
    ``dropout``, ``leaky_slope``; ``counter`` identifies the training step (or MC
    sample). ``training``: batch norm uses (and records) batch statistics, appending
    ``(index, mean, unbiased var)`` to ``bn_records``; ``dropout``: dropout is on.
    """

    training: bool
    counter: int
    knobs: dict[str, torch.Tensor]
    dropout: bool = False
    bn_records: list = field(default_factory=list)


def current() -> PassContext | None:
    """The context of the member call running on this thread, or None (plain use)."""
    return getattr(_local, "context", None)


class pass_context:  # noqa: N801 - used as a context manager
    """Install a :class:`PassContext` for the calls made inside the ``with`` block."""

    def __init__(self, ctx: PassContext) -> None:
        self.ctx = ctx

    def __enter__(self) -> PassContext:
        self.previous = current()
        _local.context = self.ctx
        return self.ctx

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        _local.context = self.previous


class Dropout(nn.Module):
    """Inverted dropout with a per-member rate (``p=None``: the member's ``model.dropout``)
    and the member's own random stream. Outside a population it is ``torch.nn.Dropout``."""

    def __init__(self, p: float | None = None) -> None:
        super().__init__()
        if p is not None and not 0.0 <= float(p) < 1.0:
            raise CaviarError(f"dropout rate must be in [0, 1), got {p}")
        self.p = None if p is None else float(p)
        self.caviar_index = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ctx = current()
        if ctx is None:  # a plain module, outside any population
            return nn.functional.dropout(x, 0.0 if self.p is None else self.p, self.training)
        if not ctx.dropout:
            return x
        rates = ctx.knobs.get("layer_dropout")
        if rates is not None:  # each member's own rate of this layer
            rate = rates[self.caviar_index]
        elif self.p is None:
            rate = ctx.knobs["dropout"]
        else:
            rate = torch.full_like(ctx.knobs["dropout"], self.p)
        keep = rnd.bernoulli_keep(
            ctx.knobs["seed"].reshape(1),
            STREAM_MODULE_DROPOUT + self.caviar_index,
            ctx.counter,
            tuple(x.shape),
            rate.reshape(1),
        )[0]
        # one factor keep / (1 - rate) on the mask, one product with x (and with the
        # gradient in backward), as caviar.nn.dropout.dropout_factor for the MLP
        return x * keep.to(x.dtype).mul_(1.0 / (1.0 - rate.to(x.dtype)))

    def extra_repr(self) -> str:
        return f"p={'per member' if self.p is None else self.p}"


class LeakyReLU(nn.Module):
    """``z`` for ``z >= 0``, ``α z`` otherwise; ``negative_slope=None``: the member's
    ``model.leaky_slope`` (:ref:`bg-activations`)."""

    def __init__(self, negative_slope: float | None = None) -> None:
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ctx = current()
        if self.negative_slope is not None or ctx is None:
            slope = 0.01 if self.negative_slope is None else self.negative_slope
            return torch.where(x >= 0, x, x * slope)
        return torch.where(x >= 0, x, x * ctx.knobs["leaky_slope"].to(x.dtype))


class _BatchNorm(nn.Module):
    """Batch normalization over the batch and spatial axes with per-member statistics."""

    dims = 2
    weight: nn.Parameter | None  # None without affine (annotations: set in __init__)
    bias: nn.Parameter | None
    running_mean: torch.Tensor  # buffers
    running_var: torch.Tensor

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = None,
        affine: bool = True,
    ) -> None:
        super().__init__()
        if momentum is not None and not 0.0 < float(momentum) <= 1.0:
            raise CaviarError(f"batch-norm momentum must be in (0, 1], got {momentum}")
        self.num_features, self.eps = int(num_features), float(eps)
        self.momentum = None if momentum is None else float(momentum)
        self.caviar_index = 0
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def _shape(self, x: torch.Tensor) -> tuple[int, ...]:
        if x.dim() not in (self.dims, self.dims + 1):
            raise CaviarError(
                f"{type(self).__name__} expects {self.dims}-d or {self.dims + 1}-d input, "
                f"got {x.dim()}-d"
            )
        return (1, -1) + (1,) * (x.dim() - 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = self._shape(x)
        axes = (0, *range(2, x.dim()))
        ctx = current()
        training = self.training if ctx is None else ctx.training
        if not training:
            out = (x - self.running_mean.view(shape)) * torch.rsqrt(
                self.running_var.view(shape) + self.eps
            )
            if self.weight is not None and self.bias is not None:  # affine: both set
                out = out * self.weight.view(shape) + self.bias.view(shape)
            return out
        with torch.no_grad():  # for the running statistics only
            mean = x.mean(dim=axes)
            n = x.numel() // x.shape[1]
            unbiased = (x - mean.view(shape)).square().sum(dim=axes) / max(n - 1, 1)
        if ctx is not None:
            ctx.bn_records.append((self.caviar_index, mean, unbiased))
        else:
            self._update_alone(mean, unbiased)
        # torch's own kernel for the normalization: the same values as torch.nn.BatchNorm
        return nn.functional.batch_norm(
            x, None, None, self.weight, self.bias, training=True, momentum=0.0, eps=self.eps
        )

    @torch.no_grad()
    def _update_alone(self, mean: torch.Tensor, var: torch.Tensor) -> None:
        m = 0.1 if self.momentum is None else self.momentum
        self.running_mean.mul_(1 - m).add_(mean, alpha=m)
        self.running_var.mul_(1 - m).add_(var, alpha=m)


class BatchNorm1d(_BatchNorm):
    """Batch norm of ``(B, C)`` or ``(B, C, L)`` inputs (``momentum=None``: per member)."""

    dims = 2


class BatchNorm2d(_BatchNorm):
    """Batch norm of ``(B, C, H, W)`` inputs (``momentum=None``: per member)."""

    dims = 4

    def _shape(self, x: torch.Tensor) -> tuple[int, ...]:
        if x.dim() != 4:
            raise CaviarError(f"BatchNorm2d expects 4-d input, got {x.dim()}-d")
        return (1, -1, 1, 1)


def _converted(child: nn.Module) -> nn.Module | None:
    """The caviar layer replacing a ``torch.nn`` one, or None to keep it."""
    if type(child) in CONVERTERS:
        return CONVERTERS[type(child)](child)
    if type(child) is nn.Dropout:
        return Dropout(child.p)
    if type(child) is nn.LeakyReLU:
        return LeakyReLU(child.negative_slope)
    if type(child) in (nn.BatchNorm1d, nn.BatchNorm2d):
        return _batch_norm(cast(nn.BatchNorm1d, child))  # or 2d: the same attributes
    return None


def _batch_norm(child: nn.BatchNorm1d) -> _BatchNorm:
    """Caviar's batch norm for torch's ``BatchNorm1d``/``2d`` ``child``, its values copied."""
    if child.momentum is None:
        raise CaviarError(
            "BatchNorm with momentum=None (cumulative average) is not supported in a "
            "population: give a momentum, or use caviar.nn.BatchNorm1d/2d(momentum=None) "
            "for the per-member model.bn_momentum"
        )
    mean, var = child.running_mean, child.running_var  # None without running stats
    if not child.track_running_stats or mean is None or var is None:
        raise CaviarError("BatchNorm with track_running_stats=False is not supported")
    new = (BatchNorm1d if type(child) is nn.BatchNorm1d else BatchNorm2d)(
        child.num_features, child.eps, child.momentum, child.affine
    )
    with torch.no_grad():
        if new.weight is not None and new.bias is not None:  # child.affine
            new.weight.copy_(child.weight)
            new.bias.copy_(child.bias)
        new.running_mean.copy_(mean)
        new.running_var.copy_(var)
    return new


def convert_layers(module: nn.Module) -> nn.Module:
    """Replace ``torch.nn`` Dropout / BatchNorm1d / BatchNorm2d / LeakyReLU (and the classes
    of ``CONVERTERS``) in ``module`` (in place) by their caviar layers, and number the
    caviar layers in module order."""
    for name, child in list(module.named_children()):
        new = _converted(child)
        if new is not None:
            setattr(module, name, new)
        else:
            convert_layers(child)
    dropout = batch_norm = 0
    for m in module.modules():
        if isinstance(m, Dropout):
            m.caviar_index, dropout = dropout, dropout + 1
        elif isinstance(m, _BatchNorm):
            m.caviar_index, batch_norm = batch_norm, batch_norm + 1
    return module


def batch_norm_layers(module: nn.Module) -> list[_BatchNorm]:
    """The caviar batch-norm layers of ``module``, in module order."""
    return [m for m in module.modules() if isinstance(m, _BatchNorm)]


def dropout_layers(module: nn.Module) -> list[Dropout]:
    """The caviar dropout layers of ``module``, in module order."""
    return [m for m in module.modules() if isinstance(m, Dropout)]


def dropout_rate_table(members: list[nn.Module]) -> torch.Tensor:
    """``(P, D)`` float64: member ``p``'s rate of its dropout layer ``i`` (its own
    module's, so a rate built from the member's config is that member's), NaN where the
    layer takes the member's ``model.dropout`` (``p=None``)."""
    return torch.tensor(
        [[math.nan if d.p is None else d.p for d in dropout_layers(m)] for m in members],
        dtype=torch.float64,
    ).reshape(len(members), -1)


def member_rates(table: torch.Tensor, rate: torch.Tensor) -> torch.Tensor:
    """``(P, D)``: each member's rate of each dropout layer, from ``table``
    (:func:`dropout_rate_table`) with ``rate`` ``(P,)`` (``model.dropout``) where a
    layer has none of its own. Evaluating other rows than the population's (``P``
    differs) needs every member to have the same rates."""
    P = rate.shape[0]
    if table.shape[0] != P:
        if not bool((table == table[:1]).logical_or(table.isnan()).all()):
            raise CaviarError(
                f"the members' dropout rates differ: evaluate all {table.shape[0]} "
                f"members together, not {P}"
            )
        table = table[:1].expand(P, -1)
    return torch.where(table.isnan(), rate.reshape(P, 1), table)
