"""Max-norm weight constraint (:ref:`bg-max-norm`), per member.

After every optimizer step, each unit's incoming weight vector ``w`` (a column of a
dense kernel, a filter of a convolution) is projected back into the ball of radius
``c_p``, the member's ``penalty.max_norm``:

    w <- w * min(1, c_p / ||w||_2)

(Srivastava et al. 2014, dropout with max-norm; Keras ``MaxNorm``). Biases are not
constrained. ``c_p = inf`` leaves member ``p`` unconstrained, and members outside
``alive`` (stopped, diverged) are not touched.

The projection works on *parameter groups*: a model gives its kernels as views of its
parameters together with the axis that indexes units. :class:`~caviar.nn.PopulationMLP`
kernels are ``(P, fan_in, fan_out)`` (units on the last axis); a
:class:`~caviar.nn.module.PopulationModule`'s are in torch's layout ``(P, out, in,
*kernel)`` (units on axis 1: a linear layer's rows, a convolution's filters); a model
with another layout provides ``kernel_views()`` returning ``(view, unit_axis)`` pairs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from caviar.errors import CaviarError


def project_max_norm_(
    kernels: Sequence[tuple[torch.Tensor, int]],
    max_norm: torch.Tensor,
    alive: torch.Tensor | None = None,
) -> None:
    """In place: ``w <- w * min(1, c_p / ||w||)`` for every unit of every kernel.

    ``kernels``: ``(view (P, ...), unit_axis)`` pairs; the norm runs over every axis
    except the member axis 0 and ``unit_axis``. ``max_norm``: ``(P,)``, ``inf`` = off.
    """
    with torch.no_grad():
        for w, unit_axis in kernels:
            axis = unit_axis % w.dim()
            dims = [d for d in range(1, w.dim()) if d != axis]
            norm = w.pow(2).sum(dim=dims, keepdim=True).sqrt() if dims else w.abs()
            c = max_norm.view(-1, *([1] * (w.dim() - 1))).to(w.dtype)
            scale = torch.where(norm > c, c / norm, torch.ones_like(norm))
            if alive is not None:
                scale = torch.where(alive.view_as(c), scale, torch.ones_like(scale))
            w.mul_(scale)


def kernel_views(model) -> list[tuple[torch.Tensor, int]]:
    """The model's kernels as ``(view of its parameters, unit_axis)`` pairs."""
    own = getattr(model, "kernel_views", None)
    if callable(own):
        return list(own())
    # PopulationMLP kernels (P, fan_in, fan_out): units last; a module's kernels are in
    # torch's layout (P, out, in, *kernel): units on axis 1
    axis = -1 if hasattr(model, "slices") else 1
    return [(w, axis) for w in model.weights(model.flat.detach())]


def active_max_norm(max_norm: torch.Tensor | None) -> torch.Tensor | None:
    """``max_norm`` when some member is constrained (a finite ``c``), else ``None``."""
    if max_norm is None or not bool(torch.isfinite(max_norm).any()):
        return None
    return max_norm


def check_max_norm(max_norm: torch.Tensor) -> None:
    """Every ``c`` must be positive (``inf``: unconstrained)."""
    bad = ~(max_norm > 0)
    if bool(bad.any()):
        raise CaviarError(f"penalty.max_norm must be > 0, got {max_norm[bad][0].item()}")
