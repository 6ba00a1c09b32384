"""Precision of a population's matrix products: ``train.precision = fp32 | bf16 | tf32``.

Mixed precision as in Micikevicius et al. (2018, "Mixed Precision Training") with
bfloat16, which keeps float32's exponent range (so no loss scaling):

* **fp32** (default): every tensor float32 (or float64 with ``train.dtype``).
* **bf16**: the matrix products and the activations they feed run in bfloat16 (8-bit
  mantissa, relative rounding ``2⁻⁸``); the master weights ``θ`` (``model.flat``), their
  gradients, the optimizer state, the loss, the penalties, the bias-gradient sums and
  every reduction stay float32. A training step reads ``θ₁₆ = bf16(θ)`` once (one cast
  per layer, into dense tensors the products read without copying) and computes

      z[l] = bf16(ã[l−1]) W₁₆[l] + b₁₆[l]      (bfloat16 product, float32 accumulation)
      ∂J/∂W[l] = float32(ã[l−1]ᵀ δ₁₆[l]) + penalty terms on the float32 θ

  The optimizer then updates the float32 ``θ``, so updates far below ``2⁻⁸ |θ|`` are
  not lost (they would be, stepping bfloat16 weights). Measured on this machine's CPU
  (AVX512-BF16/AMX, one thread, CPU time): ``torch.bmm`` at the population shapes runs
  210-244 GFLOP/s in bfloat16 against 78 in float32 and 96-136 with float32 tensors and
  ``torch.backends.mkldnn.matmul.fp32_precision = "bf16"`` (oneDNN converts inside each
  product), so bf16 casts the tensors.
* **tf32** (CUDA only): float32 tensors, matrix products on TF32 tensor cores (10-bit
  mantissa) via ``torch.backends.cuda.matmul.fp32_precision = "tf32"`` while training.

Validation and prediction use the float32 master weights in float32. Divergence
detection (the float32 loss) and early stopping are unchanged.

:class:`Precision` is the policy object. Model code uses :meth:`Precision.cast` for
hand-written products and :meth:`Precision.autocast` around an autograd forward pass
(any ``torch.nn`` module: products in bf16 under ``torch.autocast``, or TF32), then
:meth:`Precision.to_master` on the outputs before the loss.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import torch

PRECISIONS = ("fp32", "bf16", "tf32")


@dataclass(frozen=True)
class Precision:
    """The precision policy of one population (``name`` in :data:`PRECISIONS`)."""

    name: str = "fp32"
    device_type: str = "cpu"

    def __post_init__(self) -> None:
        if self.name not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.name!r}")
        if self.name == "tf32" and self.device_type != "cuda":
            raise ValueError("precision 'tf32' needs a CUDA device")

    @classmethod
    def of(cls, name: str, device: str | torch.device) -> Precision:
        return cls(name, torch.device(device).type)

    @property
    def reduced(self) -> bool:
        """True when products and activations are stored in :attr:`compute_dtype`."""
        return self.name == "bf16"

    @property
    def compute_dtype(self) -> torch.dtype | None:
        """bfloat16 for bf16; None (the tensors' own dtype) otherwise."""
        return torch.bfloat16 if self.reduced else None

    def cast(self, t: torch.Tensor) -> torch.Tensor:
        """``t`` in the compute dtype (unchanged for fp32 and tf32)."""
        return t.to(torch.bfloat16) if self.reduced else t

    def to_master(self, t: torch.Tensor) -> torch.Tensor:
        """``t`` in float32 if it is bfloat16 (outputs before the loss), else ``t``."""
        return t.float() if t.dtype == torch.bfloat16 else t

    @contextmanager
    def products(self) -> Iterator[None]:
        """TF32 matrix products inside the block (tf32 only; restored after)."""
        if self.name != "tf32":
            yield
            return
        matmul = torch.backends.cuda.matmul
        before = matmul.fp32_precision
        matmul.fp32_precision = "tf32"
        try:
            yield
        finally:
            matmul.fp32_precision = before

    def autocast(self):
        """Context for an autograd forward pass: bf16 products under ``torch.autocast``
        (float32 master weights, autograd casts the gradients back), TF32 products for
        tf32, nothing for fp32."""
        if self.reduced:
            return torch.autocast(self.device_type, dtype=torch.bfloat16)
        return self.products() if self.name == "tf32" else nullcontext()


FP32 = Precision()
