"""Diagnostics: gradient check, conditioning, gradient norms, lr range test, and the
naive baseline and verdict of a trained model (:ref:`bg-baselines`)."""

from caviar.diagnose.conditioning import (
    adagrad_diagonal,
    condition_number,
    hessian_conditioning,
    lanczos_extremes,
)
from caviar.diagnose.gradient_check import TensorCheck, gradient_check, model_tensors
from caviar.diagnose.report import diagnose

__all__ = [
    "TensorCheck",
    "adagrad_diagonal",
    "condition_number",
    "diagnose",
    "gradient_check",
    "hessian_conditioning",
    "lanczos_extremes",
    "model_tensors",
]
