"""The docs build fails on a reference that does not resolve.

CI builds the site with ``-W --keep-going -n`` (``make -C docs html``). These small
builds use the same flags and the same reference resolver as the site
(``docs/_ext/api_pages.py``), which turns references to real but internal caviar
objects into code text: a broken reference must still fail, a real one must not.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXT = Path(__file__).resolve().parents[2] / "docs" / "_ext"

CONF = f"""
import sys
sys.path.insert(0, {str(EXT)!r})
extensions = ["myst_parser", "sphinx.ext.autodoc", "api_pages"]
nitpicky = True
"""


def build(tmp_path: Path, page: str) -> subprocess.CompletedProcess:
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(CONF)
    (src / "index.md").write_text(page)
    cmd = [
        sys.executable,
        "-m",
        "sphinx",
        "-b",
        "html",
        "-W",
        "--keep-going",
        "-n",
        "-q",
        str(src),
        str(tmp_path / "out"),
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("target", ["caviar.no_such_function", "caviar.nn.factory.nothing_here"])
def test_a_broken_reference_fails_the_build(tmp_path, target):
    out = build(tmp_path, f"# Page\n\nSee {{func}}`{target}`.\n")
    assert out.returncode != 0
    assert "reference target not found" in out.stderr and target in out.stderr


def test_a_reference_to_a_real_internal_object_builds(tmp_path):
    out = build(
        tmp_path,
        "# Page\n\nSee {func}`caviar.nn.factory.register` and {mod}`caviar.training.live`.\n",
    )
    assert out.returncode == 0, out.stderr
    html = (tmp_path / "out" / "index.html").read_text()
    assert "caviar.nn.factory.register" in html
