"""Module factories: where the modules of a generic population come from.

A factory is a callable ``factory(model_cfg) -> torch.nn.Module``. ``model_cfg`` is the
member's ``[model]`` section as a dict (with any extra keys a ``kind = "module"`` config
carries, so structural knobs such as channels or kernel sizes can be searched) plus two
keys Caviar adds: ``input_shape`` (one example's shape, e.g. ``[1, 8, 8]``) and
``n_outputs`` (``K``). The module must map a batch ``(B, *input_shape)`` to ``(B, K)``.

Configurations name their factory by import path, ``model.factory = "package.module:name"``
(``caviar.train(config, module=fn)`` fills it in from ``fn``). Resolving a path imports
that module, which runs its code: only load models and configs you trust. A factory passed
from Python is also registered in this process (:func:`register`), so functions defined in
a script or notebook work in this process even when they cannot be imported by path.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from caviar.errors import CaviarError

Factory = Callable[[dict[str, Any]], nn.Module]

#: The built-in convolutional network (``model.kind = "cnn"``).
CNN_FACTORY = "caviar.nn.cnn:build_cnn"

_registry: dict[str, Factory] = {}
_lock = threading.Lock()


def short_error(e: BaseException) -> str:
    """``"TypeName: first line of the message"``: an exception of a user's code as one line."""
    text = str(e)
    return f"{type(e).__name__}: {text.splitlines()[0] if text else ''}"


def factory_path(fn: Factory) -> str:
    """The import path ``module:qualname`` of a callable."""
    module = getattr(fn, "__module__", None) or "__main__"
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)
    return f"{module}:{name}"


def register(fn: Factory) -> str:
    """Make ``fn`` resolvable in this process under its import path; return the path."""
    if not callable(fn):
        raise CaviarError(
            f"module= must be a callable returning an nn.Module, got {type(fn).__name__}"
        )
    if isinstance(fn, nn.Module):
        raise CaviarError(
            "module= takes a factory (a function model_cfg -> nn.Module), not a module "
            "instance: every member needs its own weights, e.g. module=lambda cfg: MyNet()"
        )
    path = factory_path(fn)
    with _lock:
        _registry[path] = fn
    return path


def registered_for(configs) -> dict[str, Factory]:  # noqa: ANN001
    """The factories registered in this process that ``configs`` name (to ship to another
    process, e.g. a Ray worker, where :func:`install` registers them again)."""
    paths = {getattr(c.model, "factory", None) for c in configs}
    with _lock:
        return {p: _registry[p] for p in paths if p in _registry}


def install(factories: dict[str, Factory]) -> None:
    """Register ``factories`` under their paths (the other side of :func:`registered_for`)."""
    with _lock:
        _registry.update(factories)


def resolve(path: str | None) -> Factory:
    """The factory an import path names (registered in this process, or imported)."""
    if not path:
        raise CaviarError("model.kind = 'module' needs model.factory = 'package.module:function'")
    with _lock:
        if path in _registry:
            return _registry[path]
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise CaviarError(f"model.factory '{path}' must look like 'package.module:function'")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except Exception as e:  # ImportError, AttributeError, or an error in that module's code
        raise CaviarError(f"cannot import the module factory '{path}': {short_error(e)}") from None
    if not callable(obj):
        raise CaviarError(f"model.factory '{path}' is not callable")
    return obj


def build_member(
    factory: Factory, model_cfg: dict[str, Any], seed: int, *, path: str = "the factory"
) -> nn.Module:
    """``factory(model_cfg)`` with torch's generator seeded by ``seed`` (the member's own
    initial weights, the same alone or in a population); errors become one line."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        try:
            module = factory(dict(model_cfg))
        except CaviarError:
            raise
        except Exception as e:  # the user's code: one line, no traceback
            raise CaviarError(f"module factory {path} raised {short_error(e)}") from None
    if not isinstance(module, nn.Module):
        raise CaviarError(
            f"module factory {path} returned a {type(module).__name__}, not a torch.nn.Module"
        )
    return module
