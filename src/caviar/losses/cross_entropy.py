"""Softmax cross-entropy on logits with label smoothing (:ref:`bg-cross-entropy`,
:ref:`bg-label-smoothing`).

    q = softmax(ŷ),    ℓ_i = − Σ_j p'_j log q_j

with ``log q`` computed by ``log_softmax`` (stable for huge logits). The target ``p`` is a
class code (one-hot) or a probability vector; label smoothing ε (noise on the outputs)
maps ``{0, 1} → {ε/(K−1), 1 − ε}``: the true class gets ``1 − ε``, each of the other
``K − 1`` classes ``ε/(K−1)``. For a probability vector the same affine map is applied,
``p' = a·p + b`` with ``b = ε/(K−1)``, ``a = 1 − ε − b``; so, for class codes,

    ℓ_i = −a · log q_t − b · Σ_j log q_j .

ε is a per-member hyperparameter in [0, 1) (python float or ``(P,)`` tensor).

Relation to torch: ``torch.nn.functional.cross_entropy(..., label_smoothing=ε_t)`` gives
the true class ``1 − ε_t + ε_t/K`` and the others ``ε_t/K``. The two coincide under
``ε_t = ε·K/(K−1)`` (only for ``ε ≤ (K−1)/K``, where ``ε_t ≤ 1``).

Textbooks write sums over the examples; the engine averages over the batch so the
learning rate does not scale with the batch size.
"""

from __future__ import annotations

import torch

from caviar.losses._inputs import (
    Hyper,
    broadcast_hyper,
    check_predictions,
    class_codes,
    class_log_softmax,
    dense_target,
    is_class_codes,
    member_hyper,
    require_classes,
    smoothing_weights,
)
from caviar.losses.reduction import Reduction, reduce_loss


def smoothed_targets(
    logits: torch.Tensor, target: torch.Tensor, label_smoothing: Hyper, loss: str
) -> torch.Tensor:
    """The (smoothed) target distribution ``p'`` as ``(P, B, K)`` or ``(1, B, K)``.

    Validates the target and ε; used by the KL divergence, which needs ``p'`` itself.
    """
    _, _, K = check_predictions(logits, loss)
    require_classes(K, loss)
    eps = member_hyper(
        label_smoothing, logits, name="label_smoothing", loss=loss, low=0.0, high=1.0
    )
    if is_class_codes(target):
        codes = class_codes(logits, target, loss)
        p = torch.nn.functional.one_hot(codes, K).to(logits.dtype)
    else:
        p = dense_target(logits, target, loss)
    if isinstance(eps, float) and eps == 0.0:
        return p
    a, b = smoothing_weights(broadcast_hyper(eps, p), K)
    return a * p + b


def cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    label_smoothing: Hyper = 0.0,
    *,
    reduction: Reduction = "mean",
) -> torch.Tensor:
    """Softmax cross-entropy per member.

    ``logits (P, B, K)``; ``target`` integer class codes ``(B,)``/``(P, B)`` or
    probabilities ``(B, K)``/``(P, B, K)``; ``label_smoothing`` ε in [0, 1) → ``(P,)``.
    """
    loss = "cross_entropy"
    _, _, K = check_predictions(logits, loss)
    require_classes(K, loss)
    eps = member_hyper(
        label_smoothing, logits, name="label_smoothing", loss=loss, low=0.0, high=1.0
    )
    logq = class_log_softmax(logits)
    if is_class_codes(target):
        codes = class_codes(logits, target, loss)
        fit = logq.gather(-1, codes.unsqueeze(-1)).squeeze(-1)  # log q_t, (P, B)
    else:
        p = dense_target(logits, target, loss)
        fit = (p * logq).sum(dim=-1)  # Σ_j p_j log q_j, (P, B)
    if isinstance(eps, float) and eps == 0.0:
        return reduce_loss(-fit, reduction)
    a, b = smoothing_weights(broadcast_hyper(eps, fit), K)
    return reduce_loss(-(a * fit + b * logq.sum(dim=-1)), reduction)


def cross_entropy_and_gradient(
    logits: torch.Tensor, codes: torch.Tensor, label_smoothing: Hyper = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The batch-mean loss ``(P,)`` and its gradient ``∂L_p/∂ŷ_p`` ``(P, B, K)`` in closed form.

    For class codes the gradient of the softmax cross-entropy with respect to the logits
    is (:ref:`bg-cross-entropy`; backpropagation starts from it)::

        ∂ℓ_i/∂ŷ_ij = q_ij − p'_ij,    so    ∂L/∂ŷ_ij = (q_ij − p'_ij) / B

    with ``q = softmax(ŷ)`` and ``p' = a·onehot(t) + b`` the smoothed target (``a + K b = 1``,
    so ``p'`` sums to one). One log-softmax serves the loss and the gradient: no autograd
    graph, measured 0.03 ms against 0.35 ms through autograd at ``(P, B, K) = (32, 64, 2)``.

    ``codes`` are class codes ``(B,)`` or ``(P, B)`` already checked against ``[0, K)``
    (the trainer checks its training targets once); ``label_smoothing`` ε as in
    :func:`cross_entropy`. The gradient is a ``(P, B, K)`` view of a ``(P, K, B)`` tensor.
    """
    loss = "cross_entropy"
    P, B, K = check_predictions(logits, loss)
    require_classes(K, loss)
    eps = member_hyper(
        label_smoothing, logits, name="label_smoothing", loss=loss, low=0.0, high=1.0
    )
    logq = torch.log_softmax(logits.transpose(1, 2).contiguous(), dim=1)  # (P, K, B)
    idx = codes.reshape(-1, 1, B).expand(P, 1, B)
    fit = logq.gather(1, idx).squeeze(1)  # log q_t, (P, B)
    grad = logq.exp()  # q, (P, K, B)
    if isinstance(eps, float) and eps == 0.0:
        value = -fit.mean(dim=1)
        grad.scatter_add_(1, idx, torch.full((1, 1, 1), -1.0, dtype=grad.dtype).expand(P, 1, B))
    else:
        a, b = smoothing_weights(broadcast_hyper(eps, fit), K)  # per example, as above
        value = -(a * fit + b * logq.sum(dim=1)).mean(dim=1)
        a3 = torch.as_tensor(a, dtype=grad.dtype, device=grad.device).reshape(-1, 1, 1)
        b3 = torch.as_tensor(b, dtype=grad.dtype, device=grad.device).reshape(-1, 1, 1)
        grad.sub_(b3).scatter_add_(1, idx, (-a3).expand(P, 1, B))
    return value, grad.mul_(1.0 / B).transpose(1, 2)
