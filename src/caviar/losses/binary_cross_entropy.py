"""Binary cross-entropy on logits (independent sigmoids) (:ref:`bg-cross-entropy`).

Each of the K outputs is an independent Bernoulli with ``σ(x) = 1/(1 + e^{−x})``:

    ℓ = −[ y log σ(x) + (1 − y) log σ(−x) ] = softplus(x) − y·x

computed with ``logsigmoid`` (stable for logits of any size; exact gradient ``σ(x) − y``
also at ``x = 0``). Two uses:

* ``K = 1`` output, binary task: target class codes ``(B,)`` in {0, 1} (or floats in [0, 1]);
* ``K > 1`` outputs: integer class codes are one-hot encoded and every output is compared
  with its 0/1 indicator; a float target ``(B, K)`` (multi-label / soft) is used as is.

The per-example loss is the mean over the K outputs (as Keras ``binary_crossentropy`` and
``torch.nn.functional.binary_cross_entropy_with_logits``), then the mean over the batch
(the textbook form sums over examples; the mean keeps the learning rate independent of the batch
size).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from caviar.losses._inputs import check_predictions, class_codes, dense_target, is_class_codes
from caviar.losses.reduction import Reduction, reduce_loss


def binary_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, *, reduction: Reduction = "mean"
) -> torch.Tensor:
    """Sigmoid cross-entropy per member: ``logits (P, B, K)`` → ``(P,)``."""
    loss = "binary_cross_entropy"
    _, _, K = check_predictions(logits, loss)
    if is_class_codes(target):
        if K == 1:
            # validate codes in {0, 1} against two classes, then use them as 0/1 labels
            codes = class_codes(logits.expand(-1, -1, 2), target, loss)
            y = codes.unsqueeze(-1).to(logits.dtype)
        else:
            y = F.one_hot(class_codes(logits, target, loss), K).to(logits.dtype)
    else:
        y = dense_target(logits, target, loss)
    per_output = -(y * F.logsigmoid(logits) + (1.0 - y) * F.logsigmoid(-logits))
    return reduce_loss(per_output, reduction)
