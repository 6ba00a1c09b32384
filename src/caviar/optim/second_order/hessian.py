"""Per-member Hessians and Hessian-vector products with ``torch.func``.

Members are independent, so the Hessian of ``F(x) = sum_p f_p(x_p)`` with respect
to the whole ``(P, N)`` tensor is block diagonal. One Hessian-vector product with
the direction ``e_j`` in every member at once therefore returns column ``j`` of
every member's Hessian: ``N`` products (forward-over-reverse, ``jvp`` of ``grad``,
vmapped over ``j``) give the ``(P, N, N)`` stack of member Hessians
(:ref:`bg-newton`) without ever forming the ``(P N) x (P N)`` matrix.

Dense per-member matrices cost ``P N^2`` numbers; :data:`MAX_DENSE_PARAMS` bounds
``N`` for Newton, BFGS and exact conditioning (above it use L-BFGS or Lanczos).
"""

from __future__ import annotations

import torch
from torch.func import grad, jvp, vmap

from caviar.errors import CaviarError
from caviar.optim.second_order.objective import Objective

MAX_DENSE_PARAMS = 2000
"""Largest parameter count per member for dense ``(P, N, N)`` matrices (32 MB each in
float64 at the limit)."""

MAX_DENSE_BYTES = 4 * 2**30
"""Largest total size of one population's dense ``(P, N, N)`` stack."""

HVP_CHUNK = 64  # directions per vmapped chunk when building a Hessian


def check_dense(n_params: int, method: str, population: int = 1, itemsize: int = 8) -> None:
    """Raise a one-line error when ``n_params`` is too many for a dense method."""
    if n_params > MAX_DENSE_PARAMS:
        raise CaviarError(
            f"{method} needs a dense {n_params}x{n_params} matrix per member: "
            f"{n_params} parameters exceed MAX_DENSE_PARAMS={MAX_DENSE_PARAMS}; "
            "use optimizer.name = 'lbfgs' instead"
        )
    size = population * n_params * n_params * itemsize
    if size > MAX_DENSE_BYTES:
        raise CaviarError(
            f"{method} needs {population} dense {n_params}x{n_params} matrices "
            f"({size / 2**30:.1f} GiB > {MAX_DENSE_BYTES / 2**30:.0f} GiB): use fewer members "
            "per population or optimizer.name = 'lbfgs'"
        )


def hvp(f: Objective, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Every member's Hessian times its own direction: ``(P, N)`` from ``v`` ``(P, N)``."""

    def total(z: torch.Tensor) -> torch.Tensor:
        return f(z).sum()

    return jvp(grad(total), (x.detach(),), (v,))[1]


def hessian(f: Objective, x: torch.Tensor, *, chunk: int = HVP_CHUNK) -> torch.Tensor:
    """The ``(P, N, N)`` stack of member Hessians of ``f`` at ``x`` ``(P, N)``."""
    P, N = x.shape
    check_dense(N, "the exact Hessian", P, x.element_size())
    x = x.detach()

    def total(z: torch.Tensor) -> torch.Tensor:
        return f(z).sum()

    g = grad(total)

    def column(e: torch.Tensor) -> torch.Tensor:  # e: (P, N), the same unit vector per member
        return jvp(g, (x,), (e,))[1]

    eye = torch.eye(N, dtype=x.dtype, device=x.device)
    cols = []
    for start in range(0, N, chunk):
        dirs = eye[start : start + chunk, None, :].expand(-1, P, -1)  # (c, P, N)
        cols.append(vmap(column)(dirs))  # (c, P, N): H_p[:, j] for j in chunk
    H = torch.cat(cols).permute(1, 2, 0)  # (P, N, N), column j = H e_j
    return 0.5 * (H + H.transpose(1, 2))
