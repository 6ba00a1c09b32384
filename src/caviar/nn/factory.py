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

Where ``package.module`` is looked for, in order: ``sys.path`` (installed packages, the
``PYTHONPATH``), then the folder of every config file read in this process that names a
factory (:func:`caviar.config.load.factory_folders`; ``mymodels.py`` beside
``config.toml`` works from any working directory), the folders given to
:func:`add_search_dir`, then the folder a saved model recorded (:func:`module_root`: the
folder its factory's package was imported from when it was trained), so ``caviar predict``
finds the factory from any directory.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from caviar.config.load import factory_folders
from caviar.errors import CaviarError

Factory = Callable[[dict[str, Any]], nn.Module]

#: The built-in convolutional network (``model.kind = "cnn"``).
CNN_FACTORY = "caviar.nn.cnn:build_cnn"
#: The built-in recurrent sequence model (``model.kind = "rnn"``).
RNN_FACTORY = "caviar.nn.sequence:build_rnn"
#: The factory of each built-in module kind.
BUILT_IN = {"cnn": CNN_FACTORY, "rnn": RNN_FACTORY}

_registry: dict[str, Factory] = {}
_lock = threading.Lock()
_search_dirs: list[str] = []


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


def add_search_dir(folder: str | Path) -> None:
    """Look for factory modules in ``folder`` too (after ``sys.path`` and the config files'
    folders)."""
    folder = str(Path(folder).resolve())
    with _lock:
        if folder not in _search_dirs:
            _search_dirs.append(folder)


def module_root(fn: Factory) -> str | None:
    """The folder from which ``fn``'s top-level package was imported (``sys.path`` entry or
    search folder), or None for Caviar's own factories and code without a file."""
    name = getattr(fn, "__module__", None) or ""
    module = sys.modules.get(name)
    file = getattr(module, "__file__", None)
    if not file or name == "__main__" or name.split(".")[0] == "caviar":
        return None
    depth = len(name.split(".")) - (0 if Path(file).name == "__init__.py" else 1)
    return str(Path(file).resolve().parents[depth])


def _import(module_name: str, folders: Iterable[str]):  # noqa: ANN202
    """``import module_name`` from ``sys.path``, else from the first of ``folders`` that has
    its top-level package (added to ``sys.path`` for the import only)."""
    top = module_name.split(".")[0]
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name != top:  # the module exists but fails to import something of its own
            raise
        missing = e
    for folder in folders:
        if not (Path(folder, top + ".py").is_file() or Path(folder, top).is_dir()):
            continue
        sys.path.insert(0, folder)
        try:
            importlib.invalidate_caches()
            return importlib.import_module(module_name)
        finally:
            sys.path.remove(folder)
    raise missing


def resolve(path: str | None, folders: Iterable[str | None] = ()) -> Factory:
    """The factory an import path names: registered in this process, or imported from
    ``sys.path``, the config files' folders, :func:`add_search_dir`'s or ``folders`` (a
    saved model's :func:`module_root`)."""
    if not path:
        raise CaviarError("model.kind = 'module' needs model.factory = 'package.module:function'")
    with _lock:
        if path in _registry:
            return _registry[path]
        search = [*factory_folders(), *_search_dirs, *(str(f) for f in folders if f)]
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise CaviarError(f"model.factory '{path}' must look like 'package.module:function'")
    try:
        obj: Any = _import(module_name, search)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except Exception as e:  # ImportError, AttributeError, or an error in that module's code
        where = f" (looked in sys.path and {', '.join(search)})" if search else ""
        raise CaviarError(
            f"cannot import the module factory '{path}': {short_error(e)}{where}"
        ) from None
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
