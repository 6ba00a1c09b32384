"""``caviar.tune`` the function, and ``caviar.tune.*`` the old import paths.

The search package is :mod:`caviar.tuning` (named for what it holds, as ``caviar.train``
became :mod:`caviar.training`); ``caviar.tune`` is a plain function
(:func:`caviar.api.tune`). So that code written against the old layout keeps working,
``from caviar.tune import make_plan`` and ``from caviar.tune.runner import tune`` resolve to the
same module objects of :mod:`caviar.tuning`, with a ``DeprecationWarning``:

* ``sys.modules["caviar.tune"]`` is a small alias module, installed when ``caviar`` is
  imported (so the import system never loads a module named ``caviar.tune`` and never
  sets it as the ``tune`` attribute of the package, which stays the function); its
  attributes are looked up lazily in :mod:`caviar.tuning`;
* a meta-path finder maps ``caviar.tune.X`` to the module ``caviar.tuning.X`` itself
  (never a second copy of it).

``import caviar.tune.runner as r`` does not work (it reads ``caviar.tune.runner`` as an
attribute of the function); ``from caviar.tune.runner import ...`` does.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import types
import warnings

OLD, NEW = "caviar.tune", "caviar.tuning"


def _warn(old: str, new: str) -> None:
    warnings.warn(f"{old} is deprecated: use {new}", DeprecationWarning, stacklevel=3)


class _AliasFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """``caviar.tune.X`` -> the module ``caviar.tuning.X``."""

    def find_spec(self, name, path=None, target=None):  # noqa: ANN001
        if name.startswith(OLD + "."):
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):  # noqa: ANN001
        new = NEW + spec.name[len(OLD) :]
        _warn(spec.name, new)
        return importlib.import_module(new)

    def exec_module(self, module) -> None:  # noqa: ANN001
        """Nothing to run: the real module is already loaded."""


def _alias_getattr(name: str):
    if name.startswith("__"):
        raise AttributeError(name)
    _warn(f"{OLD}.{name}", f"{NEW}.{name}")
    value = getattr(importlib.import_module(NEW), name)
    setattr(sys.modules[OLD], name, value)  # warned once
    return value


def install() -> None:
    """Put the alias module and the finder in place (idempotent)."""
    if OLD not in sys.modules:
        alias = types.ModuleType(
            OLD, "Deprecated alias of caviar.tuning (caviar.tune is a function)."
        )
        alias.__getattr__ = _alias_getattr  # type: ignore[attr-defined,method-assign]  # PEP 562
        alias.__path__ = []  # a package, so `import caviar.tune.X` asks the finders
        sys.modules[OLD] = alias
    if not any(isinstance(f, _AliasFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _AliasFinder())
