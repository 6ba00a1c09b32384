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
