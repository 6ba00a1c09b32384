"""Sanity checks at initialization (:ref:`bg-initialization`).

Before the first step, for every member ``p`` (on at most ``ROWS`` training rows):

* **Initial loss.** ``L0_p``, the data loss of the untrained network, against the loss of
  its *constant* initial prediction ``L_ref_p`` -- every output equal to its output bias,
  what small weights give. With the default output init the bias is 0 and, for
  cross-entropy, ``L_ref = log k`` (the loss of a random class assignment); with the prior
  output init (:ref:`bg-output-init`) it is the loss of predicting the class frequencies
  (the entropy of the prior) or the mean. A gap ``|L0 - L_ref| > GAP * L_ref`` is flagged:
  far above, the initial outputs are too large (scale the initialization down); far below,
  the task may leak its target.
* **Symmetric initialization.** Units with the same weights update in the same way and
  stay the same. A hidden layer whose units all start with identical incoming
  weights and biases (``model.init = "zeros"``) is flagged (and warned about): every
  unit gets the same gradient, so the layer stays a single unit repeated.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from caviar.training.evaluate import predict_outputs

ROWS = 512  # training rows for the initial loss: a 50% gap shows on 512 (2048 cost 13% of a
# 2-epoch run of 32 CNN members, as much as a validation pass of 3 epochs)
GAP = 0.5  # relative gap between L0 and L_ref that is flagged


def symmetric_layers(model) -> torch.Tensor:
    """``(P, L_hidden)`` bool: hidden layer ``l`` of member ``p`` has all units equal
    (an MLP's; a generic module is not inspected: no flags)."""
    flags = []
    if not hasattr(model, "slices"):
        return torch.zeros(model.flat.shape[0], 0, dtype=torch.bool)
    weights, biases = model.weights(model.flat.detach()), model.biases(model.flat.detach())
    bias_of = {i: b for i, b in zip([i for i, s in enumerate(model.slices) if s.has_bias],
                                    biases, strict=True)}  # fmt: skip
    for i, (w, s) in enumerate(zip(weights[:-1], model.slices[:-1], strict=True)):
        if s.fan_out < 2:
            flags.append(torch.zeros(w.shape[0], dtype=torch.bool, device=w.device))
            continue
        same = (w == w[:, :, :1]).flatten(1).all(dim=1)
        if i in bias_of:
            b = bias_of[i]
            same &= (b == b[:, :, :1]).flatten(1).all(dim=1)
        flags.append(same)
    if not flags:
        return torch.zeros(model.flat.shape[0], 0, dtype=torch.bool)
    return torch.stack(flags, dim=1)


def _constant_outputs(trainer, out: torch.Tensor) -> torch.Tensor:
    """What small weights give: every output its bias (an MLP's output bias; for a
    module, the prior it receives with ``output_init = "prior"``, else 0)."""
    model = trainer.model
    if hasattr(model, "slices"):
        if not model.slices[-1].has_bias:
            return torch.zeros_like(out)
        return model.biases(model.flat.detach())[-1].expand_as(out)
    if trainer.configs[0].model.output_init == "prior":
        from caviar.nn import output_bias

        k = out.shape[-1]
        sigmoid = trainer.spec.name == "binary_cross_entropy"
        y = trainer.data.y_train
        b = output_bias(np.asarray(y), task=trainer.data.task, n_outputs=k, sigmoid=sigmoid)
        return torch.as_tensor(b, dtype=out.dtype, device=out.device).expand_as(out)
    return torch.zeros_like(out)


@torch.no_grad()
def initial_check(trainer) -> list[dict]:
    """Per member: ``initial_loss``, ``reference_loss``, ``log_k`` and ``warnings``."""
    t, model, knobs = trainer.tensors, trainer.model, trainer.knobs
    x, y = t.x_train[:ROWS], t.y_train[:ROWS]
    if x.shape[0] == 0:
        return [{"warnings": []} for _ in range(trainer.size)]
    out = predict_outputs(model, x, slope=knobs.leaky_slope)
    hypers = trainer.loss_hypers
    loss0 = trainer.spec.fn(out, y, **hypers)
    const = _constant_outputs(trainer, out)
    ref = trainer.spec.fn(const, y, **hypers)
    sym = symmetric_layers(model)
    classes = int(getattr(trainer.data, "n_classes", 0) or 0)
    log_k = math.log(classes) if trainer.spec.task == "classification" and classes > 1 else None
    report = []
    for p in range(trainer.size):
        l0, lr = float(loss0[p]), float(ref[p])
        msgs = []
        if math.isfinite(l0) and abs(l0 - lr) > GAP * max(lr, 1e-12):
            what = "too large: scale the initialization down" if l0 > lr else "suspiciously low"
            if log_k is not None and abs(lr - log_k) < 1e-9:
                ref_text = f"log k = {lr:.4g}"
            else:
                ref_text = f"{lr:.4g}, the constant initial prediction's loss"
            msgs.append(f"initial loss {l0:.4g} vs {ref_text}: initial outputs {what}")
        layers = sym[p].nonzero().flatten().tolist()
        if layers:
            msgs.append(
                f"symmetric initialization: every unit of hidden layer(s) {layers} starts "
                "with the same weights, gets the same gradient and stays identical "
                "(use a random model.init)"
            )
        report.append({"initial_loss": l0, "reference_loss": lr, "log_k": log_k, "warnings": msgs})
    if bool(sym.any()):
        warnings.warn(
            "symmetric initialization: hidden units start identical and stay identical "
            "(model.init = 'zeros'?); use a random initialization",
            stacklevel=3,
        )
    return report
