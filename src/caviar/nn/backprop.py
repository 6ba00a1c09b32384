"""Backpropagation written out for a population MLP (no autograd graph through the layers).

Backpropagation gives the gradients of an MLP layer by
layer; this module computes exactly those equations for all ``P`` members at once, with
batched matrix products, and writes them straight into the model's ``flat.grad``. It is
the training path of every population without batch normalization (batch norm keeps the
autograd path, :meth:`PopulationMLP.__call__`); a test checks both paths give the same
gradients in float64.

Forward, hidden layers ``l = 1 … L−1`` (``d`` is the dropout factor ``mask / (1 − rate)``,
or 1 without dropout), output layer ``L`` linear::

    z[l] = ã[l−1] W[l] + b[l],   a[l] = g(z[l]),   ã[l] = d[l] ⊙ a[l],   ã[0] = d[0] ⊙ x

Backward, from ``δ[L] = ∂J/∂z[L]`` (the loss's gradient on the ``(P, B, K)`` outputs: in
closed form where the loss has one, e.g. ``(q − p')/B`` for cross-entropy, otherwise by
autograd on that small tensor alone)::

    ∂J/∂W[l]   = ã[l−1]ᵀ δ[l] + λ₁ᵏ sign(W[l]) + 2 λ₂ᵏ W[l]
    ∂J/∂b[l]   = Σ_batch δ[l] + λ₁ᵇ sign(b[l]) + 2 λ₂ᵇ b[l]
    ∂J/∂a[l−1] = (δ[l] W[l]ᵀ) ⊙ d[l−1] + (λ₁ᵃ sign(a[l−1]) + 2 λ₂ᵃ a[l−1]) / B
    δ[l−1]     = ∂J/∂a[l−1] ⊙ g'(z[l−1])

with ``g'`` from the activation's output where it determines it (ReLU ``[a > 0]``, tanh
``1 − a²``, sigmoid ``a (1 − a)``, ELU ``1`` for ``a > 0`` else ``a + α``, softplus
``1 − e^{−β a}`` = ``σ(βz)``, and 1 where ``βz`` passed the linear threshold), from the
sign of ``z`` for the leaky ReLU (``1`` for ``z ≥ 0``, else the member's slope) and from
``z`` itself for GELU (``Φ(z) + z φ(z)``) and SiLU (``σ(z) (1 + z (1 − σ(z)))``).
The penalty terms are those of :func:`caviar.penalties.penalties` (:ref:`bg-penalties`).

Why by hand: autograd through per-layer leaf views spends about a third of a training
step outside the matrix products (gradient accumulation copies, penalty graphs, saved
tensors); here every gradient is written once into its place in ``flat.grad``. A narrow
layer (``fan_out < 16``, e.g. a 10-class output) is multiplied in its transposed form
``zᵀ = Wᵀ ãᵀ``, which the batched GEMM runs about 4x faster at that shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from caviar.nn.activations import DEFAULT_PARAMETER, SOFTPLUS_THRESHOLD, activate
from caviar.nn.dropout import DropoutPass
from caviar.nn.precision import FP32, Precision
from caviar.tensors import per_member

#: Below this output width a layer is multiplied in its transposed form (see module doc).
NARROW = 16


def _narrow(w: torch.Tensor) -> bool:
    """Whether ``w``'s products take the transposed form: float32/float64 narrow layers.
    Not in bfloat16, where the transposed operands are copied before the product (measured
    at (64, 128, 10): the weight gradient 2x slower transposed, the forward pass even)."""
    return w.shape[-1] < NARROW and w.dtype != torch.bfloat16


def linear(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
    """``h W + b`` for ``h (P, B, fan_in)``, ``W (P, fan_in, fan_out)``, ``b (P, 1, fan_out)``.

    Narrow layers are computed as ``(Wᵀ hᵀ + bᵀ)ᵀ`` (same values, faster GEMM shape).
    """
    if _narrow(w):
        wt, ht = w.transpose(1, 2), h.transpose(1, 2)
        z = torch.bmm(wt, ht) if b is None else torch.baddbmm(b.transpose(1, 2), wt, ht)
        return z.transpose(1, 2).contiguous()
    return torch.bmm(h, w) if b is None else torch.baddbmm(b, h, w)


@dataclass
class ForwardCache:
    """What the backward pass needs from one training forward pass."""

    inputs: list[torch.Tensor] = field(default_factory=list)  # ã[l-1] for each layer l
    activities: list[torch.Tensor] = field(default_factory=list)  # a[l], hidden layers
    factors: list[torch.Tensor | None] = field(default_factory=list)  # d[l], hidden layers
    signs: list[torch.Tensor | None] = field(default_factory=list)  # z[l] >= 0 (leaky ReLU)
    weights: list[torch.Tensor] | None = None  # W[l] in the compute dtype (bf16), if cast
    # z[l] for gelu and silu; the linear-part mask βz > threshold for softplus
    pre: list[torch.Tensor | None] = field(default_factory=list)


def _leaky_sign(z: torch.Tensor, slope: torch.Tensor | None) -> torch.Tensor:
    """Where the leaky ReLU's derivative is 1: ``z >= 0`` for per-member slopes
    (``activate``'s ``where``), ``z > 0`` for the default ``F.leaky_relu``."""
    return z >= 0 if slope is not None else z > 0


def _pre(name: str, z: torch.Tensor, slope: torch.Tensor | None) -> torch.Tensor | None:
    """What the derivative needs beyond ``a``: ``z`` (GELU, SiLU), softplus's mask."""
    if name in ("gelu", "silu"):
        return z
    if name == "softplus":
        beta = DEFAULT_PARAMETER[name] if slope is None else per_member(slope, z)
        return z * beta > SOFTPLUS_THRESHOLD
    return None


def _derivative_(
    name: str,
    grad: torch.Tensor,
    a: torch.Tensor,
    sign: torch.Tensor | None,
    slope,
    pre: torch.Tensor | None = None,
) -> torch.Tensor:
    """``grad ⊙ g'(z)`` (``grad`` may be overwritten)."""
    if name == "relu":
        return torch.ops.aten.threshold_backward.grad_input(grad, a, 0.0, grad_input=grad)
    if name == "tanh":
        return torch.ops.aten.tanh_backward.grad_input(grad, a, grad_input=grad)
    if name == "sigmoid":
        return torch.ops.aten.sigmoid_backward.grad_input(grad, a, grad_input=grad)
    if name in ("gelu", "silu"):
        op = torch.ops.aten.gelu_backward if name == "gelu" else torch.ops.aten.silu_backward
        return op(grad, pre)
    if name in ("elu", "softplus"):
        p = DEFAULT_PARAMETER[name] if slope is None else per_member(slope, grad)
        if name == "elu":
            return grad.mul_(torch.where(a > 0, 1.0, a + p))
        assert pre is not None  # softplus's mask, from _pre
        return grad.mul_(torch.where(pre, 1.0, -torch.expm1(-p * a)))
    assert sign is not None
    alpha = per_member(slope, grad).to(grad.dtype) if slope is not None else 0.01
    return torch.where(sign, grad, grad * alpha)


#: Activations whose derivative needs only their output: computed in place on ``z``.
IN_PLACE = {"relu": torch.relu_, "tanh": torch.tanh_, "sigmoid": torch.sigmoid_}


def _activate_(name: str, z: torch.Tensor, slope: torch.Tensor | None) -> torch.Tensor:
    """``g(z)``, overwriting ``z`` where the backward pass needs only ``a`` (one buffer
    fewer per layer, the same kernel and values as :func:`activate`)."""
    if name in IN_PLACE:
        return IN_PLACE[name](z)
    return activate(name, z, slope).to(z.dtype)  # per-member slopes are fp32


def dense_copies(views: list[torch.Tensor], precision: Precision) -> list[torch.Tensor]:
    """Each view of ``flat`` as a dense tensor of its own in the compute dtype.

    The bfloat16 batched product (oneDNN) copies every operand that is not dense, and a
    view of the ``(P, N)`` ``flat`` is not (its member stride is ``N``): casting layer by
    layer into dense tensors is one pass over the weights, where casting ``flat`` and
    viewing it made each product copy its weights again (and ``x`` expanded over the
    members, whose member stride is 0, twice: forward and weight gradient).
    """
    dtype = precision.compute_dtype
    return [torch.empty(v.shape, dtype=dtype, device=v.device).copy_(v) for v in views]


@torch.no_grad()
def forward_train(
    model,
    x: torch.Tensor,
    *,
    slope: torch.Tensor | None,
    dropout: DropoutPass | None = None,
    precision: Precision = FP32,
) -> tuple[torch.Tensor, ForwardCache]:
    """Training forward pass of ``model`` (no batch norm): outputs ``(P, B, K)`` and a cache.

    ``x`` is ``(B, F)`` shared by all members or ``(P, B, F)`` per member; ``dropout``
    draws the same masks as :meth:`PopulationMLP.__call__` with the same pass. With
    bf16 ``precision`` the products and activations are bfloat16 (one cast of each layer,
    :mod:`caviar.nn.precision`) and the outputs are returned in float32.
    """
    if model.batch_norm:
        raise ValueError("forward_train does not handle batch norm (use the autograd path)")
    P = model.population
    cache = ForwardCache()
    x = precision.cast(x)  # before the expand: one (B, F) copy, not P
    h = x if x.dim() == 3 else x.unsqueeze(0).expand(P, -1, -1)
    if precision.reduced:
        h = h.contiguous()  # once, not inside each bf16 product that reads it
    if dropout is not None and dropout.input_rate is not None:
        h = dropout.apply(h, None)
    weights, biases, _, _ = model.train_views()
    if precision.reduced:
        weights, biases = dense_copies(weights, precision), dense_copies(biases, precision)
        cache.weights = weights
    last = len(weights) - 1
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        cache.inputs.append(h)
        z = linear(h, w, b)
        if i == last:
            return precision.to_master(z), cache
        a = _activate_(model.activation, z, slope)
        cache.activities.append(a)
        cache.signs.append(_leaky_sign(z, slope) if model.activation == "leaky_relu" else None)
        cache.pre.append(_pre(model.activation, z, slope))
        factor = dropout.factor(a, i) if dropout is not None else None
        h = a if factor is None else a * factor
        cache.factors.append(factor)
    raise AssertionError("unreachable")


def _write_grad(dst: torch.Tensor, raw: torch.Tensor, param: torch.Tensor, l1, l2) -> None:
    """``dst = raw + λ₁ sign(θ) + 2 λ₂ θ`` per member (a term with ``λ = None`` is off).

    ``raw`` is the data term of the gradient; ``dst`` a view into ``flat.grad``.
    """
    if l2 is not None and raw.dtype == dst.dtype:
        torch.addcmul(raw, param, per_member(2.0 * l2, param), out=dst)
    elif l2 is not None:  # a bf16 product: convert into place, then the float32 penalty
        dst.copy_(raw)
        dst.addcmul_(param, per_member(2.0 * l2, param))
    else:
        dst.copy_(raw)
    if l1 is not None:
        dst.addcmul_(torch.sign(param), per_member(l1, param))


@torch.no_grad()
def backward(
    model,
    cache: ForwardCache,
    grad_out: torch.Tensor,
    *,
    slope: torch.Tensor | None,
    lambdas: dict[str, torch.Tensor | None],
) -> None:
    """Write ``∂J/∂θ`` of every member into ``model.flat.grad`` (overwriting it).

    ``grad_out`` is ``∂J/∂z[L]`` ``(P, B, K)``; ``lambdas`` maps the six penalty names
    of :func:`caviar.penalties.penalties` to ``(P,)`` tensors or ``None`` (term off).
    """
    weights, biases, g_weights, g_biases = model.train_views()
    products = cache.weights or weights  # bf16 copies when the forward pass cast them
    delta = grad_out.to(products[0].dtype)
    for i in range(len(weights) - 1, -1, -1):
        w, h = weights[i], cache.inputs[i]
        if _narrow(products[i]):
            raw = torch.bmm(delta.transpose(1, 2), h).transpose(1, 2)
        else:
            raw = torch.bmm(h.transpose(1, 2), delta)
        _write_grad(g_weights[i], raw, w, lambdas.get("l1_kernel"), lambdas.get("l2_kernel"))
        raw_bias = delta.sum(dim=1, keepdim=True)  # bf16 sums accumulate in float32
        _write_grad(
            g_biases[i], raw_bias, biases[i], lambdas.get("l1_bias"), lambdas.get("l2_bias")
        )
        if i == 0:
            return
        grad_a = torch.bmm(delta, products[i].transpose(1, 2))
        factor = cache.factors[i - 1]
        if factor is not None:
            grad_a.mul_(factor)
        a = cache.activities[i - 1]
        l1a, l2a = lambdas.get("l1_activity"), lambdas.get("l2_activity")
        if l1a is not None:
            grad_a.add_(torch.sign(a) * per_member(l1a / a.shape[1], a))
        if l2a is not None:
            grad_a.add_(a * per_member(2.0 * l2a / a.shape[1], a))
        delta = _derivative_(
            model.activation, grad_a, a, cache.signs[i - 1], slope, cache.pre[i - 1]
        )
