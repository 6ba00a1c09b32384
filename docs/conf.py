"""Sphinx configuration of Caviar's documentation site.

Build (see CONTRIBUTING.md): ``make -C docs html`` (everything, the example gallery
executed) or ``make -C docs html-noplot`` (no gallery execution: quick, for editing
pages). CI builds with ``-W --keep-going -n``: any warning, including a reference
that does not resolve, fails it. Nothing is fetched from the network at build time
(no intersphinx inventories, no link check).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT / "src"))

import caviar  # noqa: E402

project = "Caviar"
author = "The Caviar developers"
copyright = "2026, the Caviar developers"
release = caviar.__version__
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinxarg.ext",
    "sphinx_gallery.gen_gallery",
    "config_reference",  # docs/_ext: the config reference from the pydantic schema
    "api_pages",  # docs/_ext: one API page per public module, from its __all__
    "plotly_offline",  # docs/_ext: plotly figures in the gallery, plotly.js served locally
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "auto_examples/*.json",
                    "auto_examples/*.md5", "auto_examples/*.codeobj.json"]
templates_path = ["_templates"]

# -- MyST ------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "dollarmath", "deflist", "fieldlist"]
myst_heading_anchors = 3

# -- API reference ---------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = True
autodoc_default_options = {
    "members": True,
    "show-inheritance": False,
    # scikit-learn's metadata-routing setters (generated, documented by scikit-learn)
    "exclude-members": "set_fit_request,set_score_request,set_predict_request,"
    "set_predict_proba_request,set_partial_fit_request,set_transform_request",
}
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented"
autodoc_typehints_format = "short"
autodoc_member_order = "bysource"
autodoc_preserve_defaults = True
autoclass_content = "class"
napoleon_numpy_docstring = True
napoleon_google_docstring = True  # most docstrings use Args:/Returns:
napoleon_use_rtype = False

# Every reference must resolve (-n). Types of other libraries are not resolvable
# offline (no intersphinx): they are listed here, ours are not.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|numpy|np|pandas|pd|optuna|sklearn|scipy|pydantic|plotly|ray|"
               r"matplotlib|pyarrow|safetensors|rich|psycopg|argparse|collections|typing|"
               r"pathlib|dataclasses|enum|abc|concurrent|threading|os|io|json|types|"
               r"numbers|datetime|contextlib|sqlite3|multiprocessing|functools|"
               r"typing_extensions|annotated_types|_io)(\..*)?"),
    (r"py:.*", r"(Tensor|ndarray|DataFrame|Series|Path|Module|Generator|Callable|"
               r"Sequence|Iterable|Iterator|Mapping|Any|Literal|Optional|Union|Self|"
               r"NDArray|ArrayLike|RandomState|dtype|device|Figure|Study|FrozenTrial|Trial|"
               r"BaseModel|BaseEstimator|ClassifierMixin|RegressorMixin|BaseSearchCV|"
               r"ConfigDict|FieldInfo|ValidationInfo|Namespace|ArgumentParser|Axes|"
               r"Lock|Event|Thread|TextIO|IO|BinaryIO|Hashable|MutableMapping|"
               r"ValueError|TypeError|Exception|RuntimeError|KeyError|OSError|"
               r"PathLike|StrPath|TracebackType|Protocol|ModuleType|"
               r"optional|default|array-like|array_like|callable|iterable|sequence|"
               r"of|shape|or|int|float|str|bool|dict|list|tuple|None|object|bytes|"
               r"set|frozenset|type|complex)"),
    # private helpers and type variables named in signatures
    (r"py:.*", r".*\._[A-Za-z].*"),
    (r"py:.*", r"[A-Z]"),
    (r"py:.*", r"T|P|K|V|F"),
    # numpydoc type fields: values and prose, never class names
    (r"py:.*", r"default=.*|True|False|-?[0-9][0-9.e+-]*|\".*|'.*|\{.*|.*\}|ndarrays|lists|params|score"),
    (r"py:.*", r".* .*"),  # prose read as a type ("the name: ...") is never a class
    (r"py:.*", r"\W*"),  # punctuation left over from such prose
]

# -- HTML ------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"Caviar {release}"
html_static_path = ["_static"]
html_css_files = ["caviar.css"]
html_theme_options = {
    "logo": {"text": "Caviar"},
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "reference/config": [], "reference/cli": []}
html_show_sourcelink = True

# -- Example gallery -------------------------------------------------------------------
# ``CAVIAR_DOCS_PLOT=0`` (``make html-noplot``) renders the examples without running them.
plot_gallery = os.environ.get("CAVIAR_DOCS_PLOT", "1") != "0"

sphinx_gallery_conf = {
    "examples_dirs": [str(ROOT / "examples")],
    "gallery_dirs": ["auto_examples"],
    "filename_pattern": r".*\.py$",  # execute every example, not only plot_*.py
    "ignore_pattern": r"(__init__|_helpers?)\.py$",
    "plot_gallery": plot_gallery,
    "download_all_examples": False,
    "backreferences_dir": "api/backreferences",
    "doc_module": ("caviar",),
    "reference_url": {"caviar": None},
    "capture_repr": ("_repr_html_", "__repr__"),
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "remove_config_comments": True,
    "within_subsection_order": "gallery_order.GalleryOrder",  # docs/_ext
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "show_memory": False,
    "min_reported_time": 1,
    "reset_modules": ("matplotlib",),
}

# "more than one target found" for a parameter name in a numpydoc type ("of shape
# (n_classes,)"): the name is not a reference at all
suppress_warnings = ["config.cache", "ref.python"]


def _no_pydantic_signature(app, what, name, obj, options, signature, return_annotation):
    """A config section's signature is its fields (documented in the config reference)."""
    from pydantic import BaseModel

    if what == "class" and isinstance(obj, type) and issubclass(obj, BaseModel):
        return "", None
    return None


_PROPERTY_DOCS: dict[str, list[str]] = {}


def _keep_property_doc(app, what, name, obj, options, lines):
    """napoleon reads a property docstring's first line as ``type: text``, so "Number of
    features: ..." would document a type ``Number``: keep the docstring as written (before
    napoleon runs) and put it back after."""
    if what == "property":
        _PROPERTY_DOCS[name] = list(lines)


def _restore_property_doc(app, what, name, obj, options, lines):
    if what == "property" and name in _PROPERTY_DOCS:
        lines[:] = _PROPERTY_DOCS.pop(name)


def setup(app):
    app.connect("autodoc-process-signature", _no_pydantic_signature)
    app.connect("autodoc-process-docstring", _keep_property_doc, priority=400)
    app.connect("autodoc-process-docstring", _restore_property_doc, priority=600)
