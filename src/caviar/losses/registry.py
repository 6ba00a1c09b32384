"""The loss registry: name → :class:`LossSpec` (function, task, per-member hypers, outputs).

Not an algorithm itself: it records, for each loss (:ref:`bg-regression-losses` to
:ref:`bg-hinge`), what the rest of the engine needs to use it — whether it is a regression
or a classification loss, the names and defaults of its per-member hyperparameters, how many
network outputs a classification task with ``n`` classes needs, and how to turn the
network's outputs into class probabilities ``(P, B, n_classes)``:

* cross-entropy, KL divergence: ``softmax`` (the model the loss fits, :ref:`bg-cross-entropy`);
* hinge, squared hinge: ``softmax`` of the scores as well. The hinge losses fit margins,
  not probabilities, so these are only a monotone normalisation of the scores (the arg-max
  and ranking are right; the values are not calibrated);
* binary cross-entropy: one output (two classes) → ``[1 − σ(x), σ(x)]``; K outputs →
  independent sigmoids normalised to sum to 1, ``σ_j / Σ_k σ_k`` (computed as
  ``softmax(logsigmoid(x))``, stable when every sigmoid underflows).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import torch
import torch.nn.functional as F

from caviar.errors import CaviarError
from caviar.losses._inputs import class_softmax
from caviar.losses.binary_cross_entropy import binary_cross_entropy
from caviar.losses.cross_entropy import cross_entropy, cross_entropy_and_gradient
from caviar.losses.huber import huber
from caviar.losses.kl_divergence import kl_divergence
from caviar.losses.l1 import l1
from caviar.losses.l2 import l2
from caviar.losses.log_cosh import log_cosh
from caviar.losses.multiclass_hinge import multiclass_hinge
from caviar.losses.reduction import Reduction
from caviar.losses.squared_hinge import squared_hinge

Task = Literal["regression", "classification"]
LossFn = Callable[..., torch.Tensor]
GradientFn = Callable[..., tuple[torch.Tensor, torch.Tensor]]


def _check_outputs(outputs: torch.Tensor, name: str) -> None:
    if not isinstance(outputs, torch.Tensor) or outputs.dim() != 3:
        shape = tuple(outputs.shape) if isinstance(outputs, torch.Tensor) else type(outputs)
        raise CaviarError(f"{name}: outputs must have shape (P, B, K), got {shape}")


def softmax_proba(outputs: torch.Tensor) -> torch.Tensor:
    """Class probabilities ``softmax(outputs)`` over the last axis: ``(P, B, K)``."""
    return class_softmax(outputs)


def sigmoid_proba(outputs: torch.Tensor) -> torch.Tensor:
    """Probabilities from sigmoid outputs: one output → ``[1 − σ, σ]``; K → normalised σ."""
    if outputs.shape[-1] == 1:
        return torch.cat([torch.sigmoid(-outputs), torch.sigmoid(outputs)], dim=-1)
    return class_softmax(F.logsigmoid(outputs))


@dataclass(frozen=True)
class LossSpec:
    """What the engine needs to know about one loss.

    ``fn(pred, target, **hypers, reduction=...)`` returns ``(P,)``. ``hypers`` maps each
    per-member hyperparameter name to its default. ``single_binary_output`` marks a loss
    that models a two-class task with one output (binary cross-entropy). ``proba`` turns
    classification outputs into probabilities (None for regression). ``with_gradient``,
    where a loss has one, returns the batch-mean loss and its gradient with respect to the
    outputs in closed form, for already checked class codes (the trainer's fast path:
    no autograd graph for the loss).
    """

    name: str
    fn: LossFn
    task: Task
    hypers: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))
    single_binary_output: bool = False
    proba: Callable[[torch.Tensor], torch.Tensor] | None = None
    with_gradient: GradientFn | None = None

    def n_outputs(self, n_classes: int) -> int:
        """Network outputs for ``n_classes`` classes (regression: the number of targets)."""
        if self.task == "regression":
            if n_classes < 1:
                raise CaviarError(f"{self.name}: needs at least 1 target, got {n_classes}")
            return n_classes
        if n_classes < 2:
            raise CaviarError(
                f"{self.name}: a classification task needs at least 2 classes, got {n_classes}"
            )
        return 1 if self.single_binary_output and n_classes == 2 else n_classes

    def predict_proba(self, outputs: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``(P, B, n_classes)`` from the network outputs ``(P, B, K)``."""
        if self.proba is None:
            raise CaviarError(f"{self.name} is a regression loss: it has no class probabilities")
        _check_outputs(outputs, self.name)
        return self.proba(outputs)

    def __call__(
        self,
        pred: torch.Tensor,
        target: torch.Tensor,
        *,
        reduction: Reduction = "mean",
        **hypers: Any,
    ) -> torch.Tensor:
        """Evaluate the loss, filling hyperparameters not given with their defaults."""
        unknown = sorted(set(hypers) - set(self.hypers))
        if unknown:
            allowed = ", ".join(self.hypers) or "none"
            raise CaviarError(
                f"loss '{self.name}' has no hyperparameter '{unknown[0]}' (it has: {allowed})"
            )
        values = {**self.hypers, **hypers}
        return self.fn(pred, target, reduction=reduction, **values)


def _spec(name: str, fn: LossFn, task: Task, **kwargs: Any) -> LossSpec:
    hypers = MappingProxyType(dict(kwargs.pop("hypers", {})))
    return LossSpec(name=name, fn=fn, task=task, hypers=hypers, **kwargs)


_L1 = _spec("l1", l1, "regression")
_L2 = _spec("l2", l2, "regression")

LOSSES: dict[str, LossSpec] = {
    "l1": _L1,
    "mae": _L1,
    "l2": _L2,
    "mse": _L2,
    "huber": _spec("huber", huber, "regression", hypers={"delta": 1.0}),
    "log_cosh": _spec("log_cosh", log_cosh, "regression"),
    "cross_entropy": _spec(
        "cross_entropy",
        cross_entropy,
        "classification",
        hypers={"label_smoothing": 0.0},
        proba=softmax_proba,
        with_gradient=cross_entropy_and_gradient,
    ),
    "binary_cross_entropy": _spec(
        "binary_cross_entropy",
        binary_cross_entropy,
        "classification",
        single_binary_output=True,
        proba=sigmoid_proba,
    ),
    "kl_divergence": _spec(
        "kl_divergence",
        kl_divergence,
        "classification",
        hypers={"label_smoothing": 0.0},
        proba=softmax_proba,
    ),
    "hinge": _spec("hinge", multiclass_hinge, "classification", proba=softmax_proba),
    "squared_hinge": _spec("squared_hinge", squared_hinge, "classification", proba=softmax_proba),
}


def get_loss(name: str) -> LossSpec:
    """The :class:`LossSpec` registered under ``name`` (case-insensitive)."""
    key = name.strip().lower() if isinstance(name, str) else None
    if key not in LOSSES:
        raise CaviarError(f"unknown loss {name!r} (choose from: {', '.join(sorted(LOSSES))})")
    return LOSSES[key]
