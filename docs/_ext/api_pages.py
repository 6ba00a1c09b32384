"""The API reference pages, one per public module, written from the modules' ``__all__``.

A *public module* is :mod:`caviar` itself, every package of ``caviar`` whose name has
no part starting with ``_`` (each declares ``__all__``: a test checks it), the plain
modules a public ``__all__`` names (:mod:`caviar.plots`), and the few plain modules
listed in :data:`EXTRA_MODULES`. Each gets
``docs/api/<module>.rst``: the module's docstring, then an ``autosummary`` table of
every name of its ``__all__`` with a page each (``docs/api/generated/``). The pages are
written when the configuration is read (before the sources are listed), so a name added to an
``__all__`` is documented without editing the docs; ``tests/docs/test_api_reference.py``
checks that every such name has a docstring and that each page lists exactly its
module's ``__all__``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import Any

# plain modules (not packages) that are part of the public API: None documents the
# module's ``__all__``; a list names the public names of a module without one
EXTRA_MODULES: dict[str, list[str] | None] = {
    "caviar.api": None,
    "caviar.errors": None,
    "caviar.export": None,
    "caviar.training.callbacks": ["Callback", "KerasAdapter", "PopulationLogs"],
    "caviar.training.hooks": None,  # the one hook protocol of both trainers
}

API_DIR = Path(__file__).resolve().parents[1] / "api"


def public_modules() -> dict[str, list[str]]:
    """Public module name -> the names it documents (its ``__all__``), in page order."""
    import caviar

    out: dict[str, list[str]] = {"caviar": list(caviar.__all__)}
    for info in pkgutil.walk_packages(caviar.__path__, "caviar."):
        if not info.ispkg or any(p.startswith("_") for p in info.name.split(".")):
            continue
        mod = importlib.import_module(info.name)
        names = getattr(mod, "__all__", None)
        if names:
            out[info.name] = list(names)
    for module, names in list(out.items()):  # plain modules a public __all__ names
        for name in names:
            obj = getattr(importlib.import_module(module), name)
            if inspect.ismodule(obj) and obj.__name__ not in out:
                public = getattr(obj, "__all__", None)
                out[obj.__name__] = list(public) if public else []
    for name, names in EXTRA_MODULES.items():
        out[name] = list(names if names is not None else importlib.import_module(name).__all__)
    return dict(sorted(out.items()))


def documented_object(module: str, name: str) -> Any:
    """The object ``module.name`` documents (attribute access, so lazy names load)."""
    return getattr(importlib.import_module(module), name)


def is_data(obj: Any) -> bool:
    """A constant (documented by its value, not a docstring of its own)."""
    return not (inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj))


def canonical_names(modules: dict[str, list[str]]) -> dict[int, str]:
    """``id(object)`` -> the one full name it is documented under: the shortest public
    path (``caviar.train`` rather than ``caviar.api.train``)."""
    out: dict[int, str] = {}
    for module in sorted(modules, key=lambda m: (m.count("."), m)):
        for name in modules[module]:
            obj = documented_object(module, name)
            if not is_data(obj) and not inspect.ismodule(obj):
                out.setdefault(id(obj), f"{module}.{name}")
    return out


def module_page(module: str, names: list[str], canonical: dict[int, str]) -> str:
    title = f"``{module}``"
    lines = [f".. _api-{module}:", "", title, "=" * len(title), "",
             f".. automodule:: {module}", "   :no-members:", "",
             f".. currentmodule:: {module}", ""]
    objects = {n: documented_object(module, n) for n in names}
    submodules = [n for n, o in objects.items() if inspect.ismodule(o)]
    functions = [n for n, o in objects.items() if not is_data(o) and n not in submodules]
    data = [n for n, o in objects.items() if is_data(o)]
    if submodules:  # public modules named in __all__: each has its own page
        lines += ["Modules", "-------", ""]
        lines += [f"* :mod:`{objects[n].__name__}`" for n in submodules]
        lines.append("")
    # a name documented under a shorter public path links to that page (one page each)
    by_home: dict[str, list[str]] = {}
    for n in functions:
        home, _, short = canonical[id(objects[n])].rpartition(".")
        by_home.setdefault(home, []).append(short)
    for home, shorts in sorted(by_home.items(), key=lambda kv: kv[0] != module):
        lines += [f".. currentmodule:: {home}", "", ".. autosummary::", "   :toctree: generated",
                  "   :nosignatures:", "   :template: caviar-object", ""]
        lines += [f"   {s}" for s in shorts]
        lines.append("")
    lines += [f".. currentmodule:: {module}", ""]
    if data:
        lines += ["Constants", "---------", ""]
        for n in data:
            lines += [f".. data:: {n}", "", f"   ``{_summary_of_value(objects[n])}``", ""]
    return "\n".join(lines)


def _summary_of_value(obj: Any) -> str:
    if isinstance(obj, dict):
        keys = ", ".join(map(str, list(obj)[:12]))
        return f"{{{keys}{', ...' if len(obj) > 12 else ''}}}"
    if isinstance(obj, (frozenset, set)):
        return f"{len(obj)} names"
    text = repr(obj)
    return text if len(text) < 100 else text[:96] + " ..."


def index_page(modules: dict[str, list[str]]) -> str:
    lines = [".. toctree::", "   :maxdepth: 1", ""]
    lines += [f"   {m}" for m in modules]
    return "\n".join(lines) + "\n"


def write_pages(app: Any = None, config: Any = None) -> None:
    if app is not None and Path(app.srcdir).resolve() != API_DIR.parent:
        return  # another project using the reference resolver (the tests' small builds)
    modules = public_modules()
    canonical = canonical_names(modules)
    for module, names in modules.items():
        _write_if_changed(API_DIR / f"{module}.rst", module_page(module, names, canonical))
    _write_if_changed(API_DIR / "modules.rst.inc", index_page(modules))
    for stale in API_DIR.glob("caviar*.rst"):  # a module no longer public: no page left
        if stale.stem not in modules:
            stale.unlink()


def _write_if_changed(path: Path, text: str) -> None:
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def resolve_internal(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Resolve a reference to a ``caviar`` object by what it *is*, not by its path.

    Docstrings name objects by the module that defines them
    (``caviar.training.result.MemberResult``) while the reference documents them under
    their public path (``caviar.training.MemberResult``): such a reference links to that
    page. A reference to a real but internal module or object (``caviar.nn.factory``)
    becomes plain code text. A name that does not exist is left unresolved, so ``-n``
    still reports it (a typo in a reference fails the build).
    """
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    obj = _find(target, node.get("py:module"), node.get("py:class"))
    if obj is _MISSING:
        return None
    full = _canonical().get(id(obj))
    domain = env.get_domain("py")
    if full is not None and full != target:
        for role in ("class", "func", "meth", "obj", "data", "mod"):
            found = domain.resolve_xref(env, node["refdoc"], app.builder, role, full, node,
                                        contnode)
            if found is not None:
                return found
    from docutils import nodes

    return nodes.literal(target, contnode.astext())


_MISSING = object()
_CACHE: dict[str, dict[int, str]] = {}


def _canonical() -> dict[int, str]:
    if "c" not in _CACHE:
        _CACHE["c"] = canonical_names(public_modules())
    return _CACHE["c"]


def _find(target: str, module: str | None, cls: str | None) -> Any:
    """The ``caviar`` object ``target`` names, tried as written and relative to the
    current module and class (as Python's domain would), or ``_MISSING``."""
    target = target.lstrip("~.")
    candidates = [target]
    if module:
        candidates += [f"{module}.{cls}.{target}" if cls else "", f"{module}.{target}"]
    for full in filter(None, candidates):
        if not full.startswith("caviar"):
            continue
        obj = _import(full)
        if obj is not _MISSING:
            return obj
    if "." not in target:  # a bare name: the one object of that name in caviar's modules
        found = {id(o): o for o in _named(target)}
        if len(found) == 1:
            return next(iter(found.values()))
    return _MISSING


def _named(name: str) -> list[Any]:
    import sys

    return [vars(m)[name] for n, m in list(sys.modules.items())
            if n.startswith("caviar") and m is not None and name in vars(m)]


def _import(full: str) -> Any:
    parts = full.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        try:
            for attr in parts[i:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return _MISSING
        return obj
    return _MISSING


def setup(app: Any) -> dict[str, Any]:
    app.connect("config-inited", write_pages)  # before the sources are listed
    app.connect("missing-reference", resolve_internal)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
