"""A population of any ``torch.nn.Module``: P members in one vectorized program.

The generic counterpart of :class:`caviar.nn.mlp.PopulationMLP` (the caviar approach,
:ref:`bg-caviar-approach`, for any network). ``P`` modules of one structure (the same
parameter names and shapes), each built from its member's seed, are laid out as

* ``flat (P, N)``: every parameter of member ``p`` in row ``p`` (``flat.grad`` alike), so
  every optimizer, schedule, PBT copy, compaction and snapshot works on it unchanged;
  parameter ``name`` of shape ``s`` is the view ``flat[:, a:b].view(P, *s)``;
* ``stats (P, S)``: every floating buffer (batch-norm running statistics) the same way.

The forward pass is one ``torch.func.vmap`` over the member axis of
``torch.func.functional_call(skeleton, (params_p, buffers_p), x)``: member ``p`` computes
exactly ``module_p(x)``. The stacked parameter views are autograd leaves whose ``.grad``
are the matching views of ``flat.grad``, so one backward pass on the sum of the members'
losses writes every member's own gradient ``∂J_p/∂θ_p`` in place (the members share no
parameter, so the sum's gradient is each member's own).

Per-member knobs and random streams inside the module come from the layers of
:mod:`caviar.nn.layers` (``torch.nn`` Dropout, BatchNorm1d/2d and LeakyReLU are replaced
by them, :func:`~caviar.nn.layers.convert_layers`); ``vmap`` runs with
``randomness="error"``, so a module drawing from torch's global generator is refused
(its members could not be reproduced alone).

Penalties (:ref:`bg-penalties`): kernels are the parameters of two or more dimensions,
biases the one-dimensional parameters named ``*bias``; the activity penalty acts on the
module's output. Inputs arrive as flat features ``(B, F)`` (shared) or ``(P, B, F)`` (per
member, e.g. augmented) and are viewed as ``(B, *input_shape)`` for the module.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.func import functional_call, vmap

from caviar.errors import CaviarError
from caviar.nn.batchable import convert_torch_layers
from caviar.nn.dropout import DropoutPass
from caviar.nn.factory import short_error
from caviar.nn.layers import (
    PassContext,
    batch_norm_layers,
    convert_layers,
    dropout_rate_table,
    member_rates,
    pass_context,
)
from caviar.nn.mlp import _leaf
from caviar.nn.support import check_materialized, check_supported, track_layers, vectorization_error


def _layout(named: Sequence[tuple[str, torch.Tensor]]) -> list[tuple[str, tuple[int, ...], int]]:
    """``(name, shape, start)`` of each tensor in a member's row."""
    out, offset = [], 0
    for name, t in named:
        out.append((name, tuple(t.shape), offset))
        offset += t.numel()
    return out


def _row_views(
    flat: torch.Tensor, layout: list[tuple[str, tuple[int, ...], int]]
) -> dict[str, torch.Tensor]:
    """Views ``(P, *shape)`` of ``flat (P, N)`` by name."""
    P = flat.shape[0]
    return {
        name: flat[:, start : start + math.prod(shape)].view(P, *shape)
        for name, shape, start in layout
    }


def _signature(module: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(n, tuple(t.shape)) for n, t in module.named_parameters()] + [
        ("buffer:" + n, tuple(t.shape)) for n, t in module.named_buffers()
    ]


class PopulationModule:
    """``P`` copies of one module structure with their parameters in one ``(P, N)`` tensor.

    ``members`` are the members' modules (built by the factory under each member's seed);
    they are converted (:func:`convert_layers`) and their values copied into ``flat`` and
    ``stats``; the first one becomes the skeleton that ``functional_call`` runs.
    """

    kind = "module"
    # set by whoever builds it from a factory (training.build, model.network); unset else
    factory_path: str | None  # the factory's "package.module:function"
    factory_dir: str | None  # the folder its package was imported from
    member_configs: list[dict[str, Any]]  # each member's model config, as the factory saw it

    def __init__(
        self,
        members: Sequence[nn.Module],
        input_shape: Sequence[int],
        *,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        if not members:
            raise CaviarError("a population needs at least one module")
        check_materialized(members[0])
        mods = [
            convert_layers(convert_torch_layers(m)).to(dtype=dtype, device=device) for m in members
        ]
        sig = _signature(mods[0])
        for m in mods[1:]:
            if _signature(m) != sig:
                raise CaviarError(
                    "the factory built modules of different structure for one population "
                    "(parameter names or shapes differ); structural choices must come from "
                    "the model config"
                )
        self.skeleton = mods[0]
        check_supported(self.skeleton)
        self.input_shape = tuple(int(s) for s in input_shape)
        self.population = len(mods)
        params = list(self.skeleton.named_parameters())
        if not params:
            raise CaviarError("the module has no parameters to train")
        buffers = list(self.skeleton.named_buffers())
        bad = [n for n, b in buffers if not b.is_floating_point()]
        if bad:
            raise CaviarError(f"module buffer '{bad[0]}' is not floating point (not supported)")
        self.param_layout = _layout(params)
        self.buffer_layout = _layout(buffers)
        n_params = sum(t.numel() for _, t in params)
        n_stats = sum(t.numel() for _, t in buffers)
        self.flat = torch.zeros(self.population, n_params, dtype=dtype, device=device)
        self.flat.grad = torch.zeros_like(self.flat)
        self.stats = torch.zeros(self.population, n_stats, dtype=dtype, device=device)
        with torch.no_grad():
            for p, m in enumerate(mods):
                self.flat[p].copy_(torch.cat([t.reshape(-1) for t in m.parameters()]))
                if n_stats:
                    self.stats[p].copy_(torch.cat([t.reshape(-1) for t in m.buffers()]))
        self.kernel_names = [n for n, s, _ in self.param_layout if len(s) >= 2]
        self.bias_names = [
            n for n, s, _ in self.param_layout if len(s) == 1 and n.rsplit(".", 1)[-1] == "bias"
        ]
        self._bn = batch_norm_layers(self.skeleton)
        self.batch_norm = bool(self._bn)
        rates = dropout_rate_table(mods)  # (P, D): each member's own rates, NaN: model.dropout
        self._dropout_rates = rates.to(dtype=dtype, device=device)
        self.per_member_dropout = bool(rates.isnan().any())  # take model.dropout
        self.fixed_dropout = bool((rates > 0).any())  # a rate of their own: train mode needed
        qualified = {id(m): n for n, m in self.skeleton.named_modules()}
        self._bn_stats = [
            (
                f"{qualified[id(m)]}.running_mean".lstrip("."),
                f"{qualified[id(m)]}.running_var".lstrip("."),
                m.momentum,
            )
            for m in self._bn
        ]
        self._leaves: dict[str, torch.Tensor] | None = None
        self._leaves_grad: torch.Tensor | None = None  # the gradient _leaves views
        self.n_outputs, self.widest, self.activations = self._probe()
        self._check_vectorized()

    # -- layout --------------------------------------------------------------------
    @property
    def n_params(self) -> int:
        """Parameters per member."""
        return self.flat.shape[1]

    def params(self, flat: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Parameter views ``(P, *shape)`` by name: the gradient leaves for ``flat`` None."""
        if flat is None:
            grad = self.flat.grad
            assert grad is not None  # flat is created with its gradient
            if self._leaves is None or self._leaves_grad is not grad:
                values, grads = (
                    _row_views(self.flat, self.param_layout),
                    _row_views(grad, self.param_layout),
                )
                self._leaves = {n: _leaf(values[n], grads[n]) for n in values}
                self._leaves_grad = grad
            return self._leaves
        return _row_views(flat, self.param_layout)

    def buffers(self, stats: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """Buffer views ``(P, *shape)`` by name (running statistics)."""
        return _row_views(self.stats if stats is None else stats, self.buffer_layout)

    def weights(self, flat: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Kernels (parameters of 2+ dimensions), ``(P, *shape)`` each."""
        p = self.params(flat)
        return [p[n] for n in self.kernel_names]

    def biases(self, flat: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Biases (1-d parameters named ``*bias``), ``(P, *shape)`` each."""
        p = self.params(flat)
        return [p[n] for n in self.bias_names]

    def zero_grad(self) -> None:
        """Reset ``flat.grad`` (and so every parameter's gradient) to zero."""
        grad = self.flat.grad
        assert grad is not None, "zero_grad before the first backward"
        grad.zero_()

    def _probe(self) -> tuple[int, int, int]:
        """Run the skeleton on two zero examples: the output width ``K`` (the output must be
        ``(B, K)``), the widest activation per example (for evaluation chunks) and the sum
        of every layer's activations per example (memory estimates)."""
        widest, total = [1], [0]

        def hook(_m, _i, out) -> None:  # noqa: ANN001
            if isinstance(out, tuple) and out:  # recurrent layers: (outputs, state)
                out = out[0]
            if isinstance(out, torch.Tensor) and out.dim() >= 1:
                n = out[0].numel() if out.shape[0] == 2 else out.numel()
                widest[0], total[0] = max(widest[0], n), total[0] + n

        handles = [m.register_forward_hook(hook) for m in self.skeleton.modules()]
        x = torch.zeros(2, *self.input_shape, dtype=self.flat.dtype, device=self.flat.device)
        was = self.skeleton.training
        self.skeleton.eval()
        try:
            with torch.no_grad():
                out = self.skeleton(x)
        except Exception as e:  # the user's module: one line, no traceback
            shape = ", ".join(map(str, self.input_shape))
            raise CaviarError(
                f"the module fails on inputs of shape (B, {shape}): {short_error(e)}"
            ) from None
        finally:
            self.skeleton.train(was)
            for h in handles:
                h.remove()
        if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[0] != 2:
            got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise CaviarError(
                f"the module must map a batch (B, *input_shape) to outputs (B, K); "
                f"for B = 2 it returned {got}"
            )
        return int(out.shape[1]), widest[0], max(total[0], 1)

    def _check_vectorized(self) -> None:
        """One training-mode call of every member on two zero examples (dropout on, batch
        norm in training mode, running statistics untouched): a module that cannot run
        under ``vmap`` or draws from the global generator fails here, before training."""
        P = self.population
        x = torch.zeros(
            2, math.prod(self.input_shape), dtype=self.flat.dtype, device=self.flat.device
        )
        zeros = torch.zeros(P, dtype=self.flat.dtype, device=self.flat.device)
        seeds = torch.zeros(P, dtype=torch.int64, device=self.flat.device)
        tracker = track_layers(self.skeleton)
        try:
            with torch.no_grad(), tracker, warnings.catch_warnings():
                # a kernel vmap runs member by member (no batching rule): refused too
                warnings.filterwarnings("error", message="There is a performance drop")
                self(
                    x,
                    dropout=DropoutPass(seeds, 0, rate=zeros),
                    bn_update=(zeros, torch.zeros(P, dtype=torch.bool, device=zeros.device)),
                )
        except CaviarError as e:
            cause = e.__context__  # torch's randomness error, turned into one line by __call__
            if tracker.failed_in and cause is not None and "randomness" in str(cause):
                raise vectorization_error(tracker.failed_in, cause) from None
            raise
        except Exception as e:  # the user's module: one line, no traceback
            raise vectorization_error(tracker.failed_in, e) from None

    # -- forward -------------------------------------------------------------------
    def __call__(
        self,
        x: torch.Tensor,
        *,
        slope: torch.Tensor | None = None,
        flat: torch.Tensor | None = None,
        stats: torch.Tensor | None = None,
        return_activities: bool = False,
        dropout: DropoutPass | None = None,
        bn_update: tuple[torch.Tensor, torch.Tensor | None] | None = None,
        seeds: torch.Tensor | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Outputs ``(P, B, K)`` for inputs ``(B, F)`` or ``(P, B, F)``.

        The arguments mean what they mean for :meth:`PopulationMLP.__call__`: ``flat`` /
        ``stats`` evaluate other weights of this layout; ``dropout`` (a
        :class:`DropoutPass`) switches dropout on with its seeds, counter and per-member
        rates; ``bn_update = (momentum, alive)`` is batch norm's training mode, updating
        the running statistics of ``stats`` in place for alive members. The activity
        penalty's activities are the module's outputs.
        """
        f = self.flat if flat is None else flat
        st = self.stats if stats is None else stats
        P = f.shape[0]
        training = bn_update is not None  # batch statistics (MC dropout keeps running ones)
        if dropout is not None and dropout.input_rate is not None:
            x = dropout.apply(x if x.dim() == 3 else x.unsqueeze(0).expand(P, -1, -1), None)
        x = x.reshape(*x.shape[:-1], *self.input_shape)
        per_member_x = x.dim() == len(self.input_shape) + 2
        knobs = self._knobs(P, f, dropout, slope, seeds)
        # one shared int: per-member counters come from folds, which are MLPs only
        counter = 0 if dropout is None else int(dropout.counter)
        fn = self._member_fn(training, counter, dropout is not None)
        self.skeleton.train(training or dropout is not None)
        params = self.params(flat)
        try:
            out, records = vmap(
                fn, in_dims=(0, 0, 0, 0 if per_member_x else None), randomness="error"
            )(params, _row_views(st, self.buffer_layout), knobs, x)
        except RuntimeError as e:
            if "randomness" not in str(e):
                raise
            raise CaviarError(
                "the module draws random numbers from torch's global generator in forward "
                "(members could not be reproduced alone): use caviar.nn.Dropout for dropout"
            ) from None
        if bn_update is not None and records:
            self._update_running(st, records, bn_update)
        return (out, [out]) if return_activities else out

    def _knobs(self, P, f, dropout, slope, seeds) -> dict[str, torch.Tensor]:  # noqa: ANN001
        zeros = torch.zeros(P, dtype=f.dtype, device=f.device)
        if seeds is None:
            seeds = dropout.seeds if dropout is not None else torch.zeros(P, dtype=torch.int64)
        rate = zeros if dropout is None or dropout.rate is None else dropout.rate.to(f)
        return {
            "seed": seeds.to(device=f.device, dtype=torch.int64).reshape(P),
            "dropout": rate,
            "leaky_slope": zeros + 0.01 if slope is None else slope.to(f).reshape(P),
            "layer_dropout": member_rates(self._dropout_rates, rate),
        }

    def _member_fn(self, training: bool, counter: int, dropout_on: bool):
        skeleton = self.skeleton
        n_bn = len(self._bn)

        def member(params, buffers, knobs, x):  # noqa: ANN001
            ctx = PassContext(training, counter, knobs, dropout_on)
            with pass_context(ctx):
                out = functional_call(skeleton, (params, buffers), (x,))
            if training and len(ctx.bn_records) != n_bn:
                raise CaviarError("each batch-norm layer must be called once per forward pass")
            recs = sorted(ctx.bn_records, key=lambda r: r[0])
            return out, tuple(t for r in recs for t in r[1:])

        return member

    @torch.no_grad()
    def _update_running(self, stats: torch.Tensor, records: tuple, bn_update) -> None:  # noqa: ANN001
        """``running <- (1 − m) running + m batch_stat`` per member, alive members only."""
        knob, alive = bn_update
        views = _row_views(stats, self.buffer_layout)
        for i, (mean_name, var_name, fixed) in enumerate(self._bn_stats):
            mean, var = records[2 * i], records[2 * i + 1]
            m = knob.to(stats) if fixed is None else torch.full_like(knob, fixed, dtype=stats.dtype)
            m = m.reshape(-1, 1)
            for name, value in ((mean_name, mean), (var_name, var)):
                run = views[name]
                new = (1 - m) * run + m * value
                if alive is not None:
                    new = torch.where(alive.reshape(-1, 1), new, run)
                run.copy_(new)

    # -- members -------------------------------------------------------------------
    def member_tensors(self, member: int) -> dict[str, torch.Tensor]:
        """One member's parameters and buffers as named contiguous CPU copies."""
        row = self.flat.detach()[member : member + 1]
        out = {n: t[0].to("cpu", copy=True).contiguous() for n, t in self.params(row).items()}
        srow = self.stats[member : member + 1]
        for n, t in self.buffers(srow).items():
            out[f"buffer:{n}"] = t[0].to("cpu", copy=True).contiguous()
        return out

    @torch.no_grad()
    def load_member_tensors(self, tensors: dict[str, torch.Tensor], member: int = 0) -> None:
        """Inverse of :meth:`member_tensors`; shapes are checked."""
        row, srow = self.flat[member : member + 1], self.stats[member : member + 1]
        targets = {**self.params(row), **{f"buffer:{n}": t for n, t in self.buffers(srow).items()}}
        missing = sorted(set(targets) - set(tensors))
        if missing:
            raise CaviarError(f"model weights lack tensor '{missing[0]}'")
        for name, dst in targets.items():
            value = tensors[name]
            if tuple(value.shape) != tuple(dst.shape[1:]):
                raise CaviarError(
                    f"tensor '{name}' has shape {tuple(value.shape)}, "
                    f"the module expects {tuple(dst.shape[1:])}"
                )
            dst[0].copy_(value.to(dst))
