"""The ``>>>`` examples in Caviar's docstrings run, and none is skipped.

Every module of ``src/caviar`` whose source has a ``>>>`` line is collected, so a new
example is tested without registering it here.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


def modules_with_examples() -> list[str]:
    out = []
    for path in sorted((SRC / "caviar").rglob("*.py")):
        if ">>>" in path.read_text(encoding="utf-8"):
            parts = list(path.relative_to(SRC).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out.append(".".join(parts))
    return out


MODULES = modules_with_examples()

# Modules whose examples may be skipped, each with the reason (an example that runs in a
# few seconds is never skipped: it is documentation that is checked).
SKIP_ALLOWED = {
    "caviar.model.export_files": "needs a trained model and an ONNX session",
    "caviar.model.export_inputs": "needs a trained model and an ONNX session",
    "caviar.model.exportable": "needs a trained model",
    "caviar.openmp": "the result depends on the user's own OMP_WAIT_POLICY",
    # to review: examples on a finished search (caviar.api's TuneResult lines, runner)
    "caviar.api": "its TuneResult example needs a finished search",
    "caviar.tuning.runner": "needs a finished search",
    "caviar.plots": "fig.show() opens a browser",
}


def test_there_are_examples():
    assert len(MODULES) >= 5, MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    source = Path(module.__file__).read_text(encoding="utf-8")
    if name not in SKIP_ALLOWED:
        assert "+SKIP" not in source, f"{name}: a skipped example (make it run)"
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(module, optionflags=flags, verbose=False, report=True)
    assert result.attempted > 0 or name in SKIP_ALLOWED, f"{name}: no example was collected"
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"


def test_a_wrong_example_is_a_failure():
    import types

    module = types.ModuleType("wrong_example", "Example.\n\n>>> 1 + 1\n3\n")
    result = doctest.testmod(module, verbose=False, report=False)
    assert (result.attempted, result.failed) == (1, 1)
