"""Which ``torch.nn`` layers run in a population, and one-line refusals for the others.

A population runs each member's module under ``torch.func.vmap`` with
``randomness="error"`` (:mod:`caviar.nn.module`). A layer cannot run there when

* it draws random numbers from torch's global generator in training (its members could
  not be reproduced alone): the dropout variants other than ``nn.Dropout``, ``RReLU``,
  ``FractionalMaxPool*``;
* it updates a buffer in place during the forward pass or needs statistics over the
  batch that ``vmap`` cannot give it per member (``BatchNorm3d``, ``SyncBatchNorm``,
  ``InstanceNorm*`` with ``track_running_stats``, ``Embedding`` with ``max_norm``);
* its parameters do not exist until the first call (``Lazy*`` layers).

:func:`check_supported` refuses those before anything runs, naming the layer and what
to use instead; :func:`vectorization_error` turns any other failure of the trial pass
into one line that names the innermost layer that failed (not torch's internal text).
The converted layers (``Dropout``, ``BatchNorm1d``/``2d``, ``LeakyReLU``, attention and
Transformer layers, the recurrent layers and cells) and the layers that run as they are
are listed in ``docs/guide/supported_layers.md``.
"""

from __future__ import annotations

from torch import nn

from caviar.errors import CaviarError
from caviar.nn.factory import short_error

_DROPOUT = "use caviar.nn.Dropout (elementwise, each member's own stream) instead"

#: torch.nn layer -> what to do instead (a layer of this exact type is refused).
REFUSED: dict[type, str] = {
    nn.Dropout1d: _DROPOUT,
    nn.Dropout2d: _DROPOUT,
    nn.Dropout3d: _DROPOUT,
    nn.AlphaDropout: _DROPOUT,
    nn.FeatureAlphaDropout: _DROPOUT,
    nn.RReLU: "use caviar.nn.LeakyReLU (a fixed slope, or each member's model.leaky_slope)",
    nn.FractionalMaxPool2d: "use nn.MaxPool2d or nn.AdaptiveMaxPool2d",
    nn.FractionalMaxPool3d: "use nn.MaxPool3d or nn.AdaptiveMaxPool3d",
    nn.BatchNorm3d: "use nn.GroupNorm or nn.LayerNorm, or caviar.nn.BatchNorm2d on a 4-d view",
    nn.SyncBatchNorm: "use nn.BatchNorm1d/2d (converted per member)",
    nn.EmbeddingBag: "use nn.Embedding and a sum or mean over the bag axis",
    nn.AdaptiveLogSoftmaxWithLoss: "use nn.Linear outputs (the population's loss applies)",
}


def _refusal(module: nn.Module) -> str | None:
    """What to do instead of ``module``, or None when it may run."""
    kind = type(module)
    if kind in REFUSED:
        return REFUSED[kind]
    if isinstance(module, nn.modules.instancenorm._InstanceNorm) and module.track_running_stats:
        return "use track_running_stats=False (the default), or nn.GroupNorm"
    if isinstance(module, nn.Embedding) and module.max_norm is not None:
        return "use max_norm=None (it renormalizes the weights in place during forward)"
    return None


def check_materialized(module: nn.Module) -> None:
    """Raise a one-line :class:`CaviarError` for a lazy layer of ``module`` whose
    parameters do not exist yet (``nn.LazyLinear`` before its first call)."""
    for name, m in module.named_modules():
        lazy = isinstance(m, nn.modules.lazy.LazyModuleMixin)
        if lazy and m.has_uninitialized_params():  # type: ignore[misc]  # torch's self type
            where = f" '{name}'" if name else ""
            raise CaviarError(
                f"layer{where} ({type(m).__name__}) cannot run in a population: use the "
                "non-lazy layer with its input size, so its parameters exist"
            )


def check_supported(module: nn.Module) -> None:
    """Raise a one-line :class:`CaviarError` for the first layer of ``module`` that cannot
    run in a population (the layers above), naming it and saying what to use instead."""
    for name, m in module.named_modules():
        advice = _refusal(m)
        if advice is not None:
            where = f" '{name}'" if name else ""
            raise CaviarError(
                f"layer{where} ({type(m).__name__}) cannot run in a population: {advice}"
            )


def vectorization_error(
    failed_in: list[tuple[str, nn.Module]], error: BaseException
) -> CaviarError:
    """A one-line error for ``error``, raised by a module's trial pass under ``vmap``,
    naming the innermost layer that was running (``failed_in``, from :class:`track_layers`)."""
    if not failed_in:
        return CaviarError(
            f"the module cannot run as a vectorized population (torch.func.vmap): "
            f"{short_error(error)}"
        )
    name, layer = failed_in[-1]
    text = str(error)
    if "randomness" in text:
        reason = "it draws random numbers from torch's global generator"
        advice = "use caviar.nn.Dropout for dropout, or draw no random numbers in forward"
    elif "batching rule" in text.lower():
        op = text.split(" for ", 1)[1].split()[0].rstrip(".;:") if " for " in text else "it"
        reason = f"torch.func.vmap cannot batch {op}"
        advice = "use a layer the supported-layers guide lists"
    else:
        reason, advice = short_error(error), "check the layer on inputs of this shape"
    where = f" '{name}'" if name else ""
    return CaviarError(
        f"layer{where} ({type(layer).__name__}) cannot run in a population: {reason}; {advice}"
    )


class track_layers:  # noqa: N801 - used as a context manager
    """While active, record the stack of ``module``'s layers being run; when an exception
    leaves the block, ``failed_in`` holds the layers it left (innermost last)."""

    def __init__(self, module: nn.Module) -> None:
        self.module = module
        self.stack: list[tuple[str, nn.Module]] = []
        self.failed_in: list[tuple[str, nn.Module]] = []

    def __enter__(self) -> track_layers:
        names = {id(m): n for n, m in self.module.named_modules()}

        def push(m: nn.Module, *_) -> None:  # noqa: ANN002
            self.stack.append((names[id(m)], m))

        def pop(*_) -> None:  # noqa: ANN002 - returns None: the output is kept
            self.stack.pop()

        mods = list(self.module.modules())
        self.handles = [m.register_forward_pre_hook(push) for m in mods]
        self.handles += [m.register_forward_hook(pop) for m in mods]
        return self

    def __exit__(self, kind, *_) -> None:  # noqa: ANN001, ANN002
        for h in self.handles:
            h.remove()
        if kind is not None:
            self.failed_in = list(self.stack)
