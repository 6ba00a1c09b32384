"""Conditioning of the loss at a point (:ref:`bg-condition-number`).

* Exact, for small models (``N <= MAX_DENSE_PARAMS``): the condition number of the
  per-member Hessian from its singular values, ``Cn = SV_max / SV_min``
  (:ref:`bg-condition-number`; equals ``numpy.linalg.cond(H)``).
* Estimated, for larger ones: the extreme eigenvalues from ``k`` steps of Lanczos
  on Hessian-vector products (full reorthogonalization). Each Ritz value ``theta``
  comes with the residual bound ``|lambda - theta| <= |beta_k s_k|`` (``s_k`` the
  last entry of its Ritz vector), reported as the estimate's accuracy. When the
  Hessian is positive definite ``Cn = lambda_max / lambda_min``; otherwise the
  smallest ``|lambda|`` is interior to the spectrum and Lanczos does not bound it, so
  no condition number is claimed.
* AdaGrad's diagonal matrix (:ref:`bg-adagrad`), ``B = diag(sum_j g_j g_j^T)^(1/2)``
  accumulated over training steps: the cheap, diagonal-only picture of how
  differently the loss reacts to each parameter; ``max B / min B`` side by side.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from caviar.optim.second_order.hessian import MAX_DENSE_PARAMS, hessian, hvp


def condition_number(H: torch.Tensor) -> torch.Tensor:
    """``SV_max / SV_min`` of each ``(N, N)`` matrix of ``H`` ``(..., N, N)``; ``inf`` for
    a numerically singular matrix, ``SV_min <= SV_max * N * eps`` (numpy's
    ``matrix_rank`` tolerance: rank-deficient), where the ratio is rounding noise."""
    sv = torch.linalg.svdvals(H)
    eps = torch.finfo(sv.dtype).eps
    singular = sv[..., -1] <= sv[..., 0] * max(H.shape[-2:]) * eps
    return torch.where(
        singular, torch.full_like(sv[..., 0], float("inf")), sv[..., 0] / sv[..., -1]
    )


def lanczos_extremes(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    shape: tuple[int, int],
    *,
    steps: int = 30,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """Extreme eigenvalues of ``P`` symmetric operators ``matvec((P, N)) -> (P, N)``.

    Returns ``lambda_max``, ``lambda_min``, their residual bounds ``err_max``,
    ``err_min`` (all ``(P,)``) and the number of ``steps`` taken.
    """
    P, N = shape
    k = min(steps, N)
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(P, N, generator=gen, dtype=dtype).to(device)
    q = q / q.norm(dim=1, keepdim=True)
    Q = [q]
    alphas: list[torch.Tensor] = []
    betas: list[torch.Tensor] = []
    for j in range(k):
        w = matvec(Q[j])
        a = (w * Q[j]).sum(1)
        w = w - a[:, None] * Q[j]
        if j > 0:
            w = w - betas[-1][:, None] * Q[j - 1]
        basis = torch.stack(Q, dim=1)  # (P, j+1, N)
        for _ in range(2):  # full reorthogonalization, twice is enough
            w = w - torch.einsum("pj,pjn->pn", torch.einsum("pjn,pn->pj", basis, w), basis)
        b = w.norm(dim=1)
        alphas.append(a)
        betas.append(b)
        if j + 1 < k:
            Q.append(w / b.clamp_min(torch.finfo(dtype).tiny)[:, None])
    A = torch.stack(alphas, 1)
    B = torch.stack(betas, 1)
    T = torch.diag_embed(A) + torch.diag_embed(B[:, :-1], 1) + torch.diag_embed(B[:, :-1], -1)
    theta, S = torch.linalg.eigh(T)
    bound = (B[:, -1:] * S[:, -1, :]).abs()  # (P, k): |beta_k s_k,i|
    return {
        "lambda_max": theta[:, -1],
        "lambda_min": theta[:, 0],
        "err_max": bound[:, -1],
        "err_min": bound[:, 0],
        "steps": torch.tensor(k),
    }


def adagrad_diagonal(grad_sq_sum: torch.Tensor) -> dict[str, float]:
    """AdaGrad's ``B`` from the summed squared gradients ``(N,)`` of one member.

    See :ref:`bg-adagrad`.
    """
    b = grad_sq_sum.clamp_min(0).sqrt()
    positive = b[b > 0]
    if positive.numel() == 0:
        return {"b_max": 0.0, "b_min": 0.0, "ratio": float("nan"), "zero_entries": b.numel()}
    return {
        "b_max": float(positive.max()),
        "b_min": float(positive.min()),
        "ratio": float(positive.max() / positive.min()),
        "zero_entries": int((b == 0).sum()),
    }


def hessian_conditioning(
    f: Callable[[torch.Tensor], torch.Tensor],
    theta: torch.Tensor,
    *,
    lanczos_steps: int = 30,
    max_dense: int = MAX_DENSE_PARAMS,
) -> dict:
    """Conditioning of ``f`` at ``theta`` ``(1, N)``: exact when small, else Lanczos."""
    theta = theta.detach()
    N = theta.shape[1]
    if N <= max_dense:
        H = hessian(f, theta)[0]
        eig = torch.linalg.eigvalsh(H)
        return {
            "method": "svd",
            "n_params": N,
            "condition_number": float(condition_number(H)),
            "lambda_max": float(eig[-1]),
            "lambda_min": float(eig[0]),
            "err_max": 0.0,
            "err_min": 0.0,
            "positive_definite": bool(eig[0] > 0),
        }
    est = lanczos_extremes(
        lambda v: hvp(f, theta, v),
        (theta.shape[0], theta.shape[1]),
        steps=lanczos_steps,
        dtype=theta.dtype,
        device=theta.device,
    )
    lmax, lmin = float(est["lambda_max"][0]), float(est["lambda_min"][0])
    err_min = float(est["err_min"][0])
    pd = lmin - err_min > 0
    return {
        "method": f"lanczos({int(est['steps'])} steps)",
        "n_params": N,
        "condition_number": lmax / lmin if pd else None,
        "lambda_max": lmax,
        "lambda_min": lmin,
        "err_max": float(est["err_max"][0]),
        "err_min": err_min,
        "positive_definite": bool(pd),
    }
