"""The layers of ``src/caviar``: every import points down (or stays within its layer).

:data:`LAYERS` declares the order, bottom first; ``docs/dev/architecture.md`` draws the
same picture. A module belongs to the layer of the longest prefix that names it
(``caviar.tuning.storage_records`` is in "search space and stored trials" although
``caviar.tuning`` is in "search"). An import of module ``B`` by module ``A`` is the edge
``tests/test_layout.py`` builds (its AST, nothing imported): module-level imports,
imports inside functions and methods (a lazy import is still an arrow), imports under
``if TYPE_CHECKING:`` and ``importlib.import_module("caviar.x")`` with a literal name
all count. The check fails on an arrow back up (``B``'s layer above ``A``'s), naming
each with its file and line, and on a module that no prefix places (a new top-level
module or package: add it to the layer it belongs to).
"""

from __future__ import annotations

from pathlib import Path

from test_layout import SRC, _graph_of, import_graph, source_files

# bottom first; a module is in the layer of its longest matching prefix
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "foundation",
        (
            "caviar.errors",
            "caviar.version",
            "caviar.tensors",
            "caviar.atomic",
            "caviar.serialize",
            "caviar.memory",
            "caviar.openmp",
            "caviar.run_dir",
            "caviar.live_dir",
            "caviar.export_format",
            "caviar.progress",
            "caviar.trial",
        ),
    ),
    ("configuration and data", ("caviar.config", "caviar.data")),
    (
        "tensor maths",
        ("caviar.nn", "caviar.losses", "caviar.penalties", "caviar.optim", "caviar.schedules"),
    ),
    ("model", ("caviar.model", "caviar.export")),
    ("training", ("caviar.training", "caviar.arguments")),
    ("diagnose", ("caviar.diagnose",)),
    # what the report reads of a search: its space and the stored trial records
    (
        "search space and stored trials",
        (
            "caviar.tuning.space",
            "caviar.tuning.funnel",
            "caviar.tuning.storage_records",
            "caviar.tuning.pareto",
        ),
    ),
    ("report", ("caviar.report",)),
    # the result objects (TrainRun and TuneResult derive from ResultView) and their figures
    (
        "results as objects",
        ("caviar.results", "caviar.plots"),
    ),
    ("search", ("caviar.tuning",)),
    # writing a run directory: above tuning/ and report/, called by the entry points only
    # (caviar.tuning.output: the names' first path, re-exported from caviar.results.outputs)
    ("run outputs", ("caviar.results.outputs", "caviar.tuning.output")),
    (
        "entry points",
        (
            "caviar.__init__",
            "caviar.__main__",
            "caviar._tune_alias",
            "caviar.cli",
            "caviar.sklearn",
            # caviar.train and caviar.tune, and the facade re-exporting the latter
            "caviar.api",
            "caviar.tuning.runner",
            "caviar.tuning.__init__",
        ),
    ),
]


def layer_of(module: str, is_package: bool = False) -> int | None:
    """The index in :data:`LAYERS` of ``module``'s layer, or None.

    A package declared as ``<package>.__init__`` is a facade placed on its own (it may
    sit above the modules it re-exports: ``caviar.tuning`` re-exports ``caviar.tune``);
    any other module is in the layer of the longest prefix naming it."""
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for index, (_, prefixes) in enumerate(LAYERS):
        for p in prefixes:
            if is_package and p == f"{module}.__init__":
                return index
            if (module == p or module.startswith(p + ".")) and (best is None or len(p) > best[0]):
                best = (len(p), index)
    return best[1] if best is not None else None


def upward_imports(
    graph: dict[str, dict[str, int]], packages: set[str]
) -> list[tuple[str, str, int]]:
    """Every edge ``(a, b, line)`` of ``graph`` whose target sits in a higher layer."""
    out = []
    for a, targets in graph.items():
        la = layer_of(a, a in packages)
        for b, line in targets.items():
            lb = layer_of(b, b in packages)
            if la is not None and lb is not None and lb > la:
                out.append((a, b, line))
    return sorted(out)


def _packages(files: dict[str, Path]) -> set[str]:
    return {m for m, p in files.items() if p.name == "__init__.py"}


def test_every_module_has_a_layer():
    files = source_files()
    packages = _packages(files)
    loose = sorted(m for m in files if layer_of(m, m in packages) is None)
    assert not loose, "modules in no layer (add a prefix to LAYERS in tests/test_layers.py): " + (
        ", ".join(loose)
    )


def test_no_import_points_up():
    files = source_files()
    packages = _packages(files)
    names = [n for n, _ in LAYERS]
    up = upward_imports(import_graph(), packages)
    lines = [
        f"  {a} ({names[layer_of(a, a in packages)]}) -> {b} ({names[layer_of(b, b in packages)]})"
        f"  at {files[a].relative_to(SRC)}:{line}"
        for a, b, line in up
    ]
    assert not up, (
        f"imports from a lower layer up to a higher one (bottom first: {' < '.join(names)}):\n"
        + "\n".join(lines)
    )


def test_layers_name_each_prefix_once():
    prefixes = [p for _, ps in LAYERS for p in ps]
    assert len(prefixes) == len(set(prefixes)), sorted(p for p in prefixes if prefixes.count(p) > 1)


def test_the_check_sees_a_lazy_import_up_and_allows_one_down(tmp_path):
    graph = _graph_of(
        {
            "caviar.tuning.search": "def f():\n    from caviar.results.outputs import w\n",
            "caviar.results.outputs": "from caviar.report import r\n",
            "caviar.report": "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n    from caviar.api import TrainRun\n",
            "caviar.tuning.runner": "from caviar.results.outputs import w\n",
            "caviar.api": "",
        },
        tmp_path,
    )
    assert layer_of("caviar.tuning.runner") > layer_of("caviar.results.outputs")
    assert layer_of("caviar.tuning.storage_records") < layer_of("caviar.report")
    assert upward_imports(graph, set()) == [
        ("caviar.report", "caviar.api", 3),  # a TYPE_CHECKING import counts
        ("caviar.tuning.search", "caviar.results.outputs", 2),  # so does a lazy one
    ]


def test_a_facade_is_placed_by_its_own_entry():
    assert layer_of("caviar.tuning", is_package=True) == layer_of("caviar.tuning.runner")
    assert layer_of("caviar.tuning") == layer_of("caviar.tuning.search")  # as a name prefix
    assert layer_of("caviar.results", is_package=True) == layer_of("caviar.results.view")
