"""Every public name has an API page and a docstring.

The API pages are written from each public module's ``__all__``
(``docs/_ext/api_pages.py``), so "has a page" means: the module is one of the public
modules, and its page lists the name (under its own path or under the shorter public
path that documents the same object). "Has a docstring" means a docstring of its own
(a class's, not one inherited from a base class); constants are documented by their
value.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from tests.docs._docs_ext import load

import caviar

api_pages = load("api_pages")
MODULES = api_pages.public_modules()
CANONICAL = api_pages.canonical_names(MODULES)
NAMES = [(m, n) for m, names in MODULES.items() for n in names]


def test_every_public_package_has_a_page():
    packages = {"caviar"}
    for info in pkgutil.walk_packages(caviar.__path__, "caviar."):
        if info.ispkg and not any(p.startswith("_") for p in info.name.split(".")):
            if getattr(importlib.import_module(info.name), "__all__", None):
                packages.add(info.name)
    assert packages <= set(MODULES), sorted(packages - set(MODULES))
    assert len(MODULES) >= 15


def check_name(module: str, name: str, modules: dict, canonical: dict) -> None:
    """Assert that ``module.name`` is on its module's page and has its own docstring."""
    obj = api_pages.documented_object(module, name)
    page = api_pages.module_page(module, modules[module], canonical)
    if api_pages.is_data(obj):
        assert f".. data:: {name}" in page
        return
    if inspect.ismodule(obj):  # a public module named in __all__: listed, with a page
        assert f"* :mod:`{obj.__name__}`" in page and obj.__name__ in modules
        assert (obj.__doc__ or "").strip(), f"{obj.__name__} has no docstring"
        return
    home, _, short = canonical[id(obj)].rpartition(".")
    assert f".. currentmodule:: {home}" in page and f"   {short}\n" in page + "\n"
    own = obj.__doc__ if inspect.isclass(obj) else inspect.getdoc(obj)
    assert own and own.strip(), f"{module}.{name} has no docstring"


@pytest.mark.parametrize(("module", "name"), NAMES, ids=[f"{m}.{n}" for m, n in NAMES])
def test_public_name_has_a_page_and_a_docstring(module, name):
    check_name(module, name, MODULES, CANONICAL)


def test_a_name_without_docstring_is_reported(monkeypatch):
    """The check can fail: a public function without a docstring is caught."""

    def undocumented():
        pass

    monkeypatch.setattr(caviar.errors, "undocumented", undocumented, raising=False)
    monkeypatch.setitem(api_pages.EXTRA_MODULES, "caviar.errors", ["CaviarError", "undocumented"])
    modules = api_pages.public_modules()
    assert "undocumented" in modules["caviar.errors"]
    with pytest.raises(AssertionError, match="no docstring"):
        check_name("caviar.errors", "undocumented", modules, api_pages.canonical_names(modules))


# -- the declared surface: every public package's __all__, and exactly those names documented


def public_packages() -> list[str]:
    """``caviar`` and every package under it whose dotted name has no part starting
    with ``_``."""
    names = ["caviar"]
    for info in pkgutil.walk_packages(caviar.__path__, "caviar."):
        if info.ispkg and not any(p.startswith("_") for p in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("package", public_packages())
def test_every_public_package_declares_all(package):
    mod = importlib.import_module(package)
    names = getattr(mod, "__all__", None)
    assert names is not None, f"{package} declares no __all__ (list its public names)"
    assert isinstance(names, list) and names, f"{package}.__all__ is not a non-empty list"
    assert all(isinstance(n, str) for n in names), f"{package}.__all__ holds a non-string"
    twice = sorted({n for n in names if names.count(n) > 1})
    assert not twice, f"{package}.__all__ names {twice} more than once"
    absent = [n for n in names if not hasattr(mod, n)]
    assert not absent, f"{package}.__all__ names {absent}, which {package} does not define"


def documented_on_page(page: str) -> dict[str, str]:
    """What a module page (the reStructuredText :func:`api_pages.module_page` writes)
    documents: each entry's key (below) -> the entry as written. An ``autosummary`` entry
    is keyed by the full name it documents (``currentmodule`` + entry), a ``.. data::``
    by ``data:<name>``, a listed module by ``mod:<name>``."""
    out: dict[str, str] = {}
    current, in_table = "", False
    for line in page.splitlines():
        if line.startswith(".. currentmodule:: "):
            current, in_table = line.split("::", 1)[1].strip(), False
        elif line.startswith(".. autosummary::"):
            in_table = True
        elif line.startswith(".. data:: "):
            name = line.split("::", 1)[1].strip()
            out[f"data:{name}"] = name
        elif line.startswith("* :mod:`"):
            name = line.removeprefix("* :mod:`").rstrip("`")
            out[f"mod:{name}"] = name
        elif in_table and line.startswith("   ") and not line.strip().startswith(":"):
            out[f"{current}.{line.strip()}"] = line.strip()
    return out


def page_key(module: str, name: str, canonical: dict) -> str:
    """The :func:`documented_on_page` key under which ``module.name`` is documented."""
    obj = api_pages.documented_object(module, name)
    if inspect.ismodule(obj):
        return f"mod:{obj.__name__}"
    if api_pages.is_data(obj):
        return f"data:{name}"
    return canonical[id(obj)]


def page_differences(module: str, names: list[str], page: str, canonical: dict) -> list[str]:
    """How ``page`` differs from ``names`` (the module's ``__all__``): each name it
    lacks, each entry it has that no name of ``names`` is."""
    documented = documented_on_page(page)
    expected = {page_key(module, n, canonical): n for n in names}
    missing = [
        f"{module}.{expected[k]} is in __all__ but not on its API page"
        for k in expected
        if k not in documented
    ]
    extra = [
        f"the API page of {module} documents {documented[k]!r} ({k}), not in its __all__"
        for k in documented
        if k not in expected
    ]
    return missing + extra


@pytest.mark.parametrize("module", sorted(MODULES))
def test_the_api_page_lists_exactly_the_modules_all(module):
    page = api_pages.module_page(module, MODULES[module], CANONICAL)
    declared = getattr(importlib.import_module(module), "__all__", None)
    names = MODULES[module] if declared is None else list(declared)  # EXTRA_MODULES' lists
    assert MODULES[module] == names, (
        f"{module} declares __all__ = {names} but the reference documents {MODULES[module]}"
        f" (set EXTRA_MODULES[{module!r}] = None in docs/_ext/api_pages.py)"
    )
    assert not page_differences(module, names, page, CANONICAL), "\n".join(
        page_differences(module, names, page, CANONICAL)
    )


def test_the_api_index_lists_exactly_the_public_modules():
    """The reference's table of contents: every public package (each declares
    ``__all__``), the plain modules a public ``__all__`` names, and the extra modules."""
    toc = api_pages.index_page(MODULES).splitlines()
    listed = {line.strip() for line in toc[3:] if line.strip()}
    named = {
        obj.__name__
        for m, names in MODULES.items()
        for n in names
        if inspect.ismodule(obj := api_pages.documented_object(m, n))
    }
    assert listed == set(public_packages()) | named | set(api_pages.EXTRA_MODULES)


def test_a_page_missing_or_adding_a_name_is_reported():
    """The comparison can fail both ways, and says which name and which module."""
    module = "caviar.losses"
    names = MODULES[module]
    page = api_pages.module_page(module, names[1:], CANONICAL)  # the first name left out
    assert page_differences(module, names, page, CANONICAL) == [
        f"{module}.{names[0]} is in __all__ but not on its API page"
    ]
    extra = page_differences(
        module, names[1:], api_pages.module_page(module, names, CANONICAL), CANONICAL
    )
    assert len(extra) == 1 and "not in its __all__" in extra[0] and module in extra[0]
