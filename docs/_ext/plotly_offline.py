"""Plotly figures in the example gallery, offline.

An example that ends a cell with a plotly figure (Optuna's visualizations return
them) is rendered by sphinx-gallery through the figure's ``_repr_html_``. This
extension makes that HTML a plain ``<div>`` + script (no CDN link, no MathJax) and
adds plotly.js, copied from the installed plotly package, to the pages that have such
a figure, so the built site draws them without a network.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

PLOTLY_JS = "plotly.min.js"


def _register_renderer() -> None:
    import plotly.io as pio
    from plotly.io._base_renderers import HtmlRenderer

    class OfflineGalleryRenderer(HtmlRenderer):
        def __init__(self) -> None:
            super().__init__(connected=False, full_html=False, global_init=False)

        def to_mimebundle(self, fig_dict: dict) -> dict:
            from plotly.io import to_html

            html = to_html(fig_dict, include_plotlyjs=False, include_mathjax=False,
                           config={"responsive": True},
                           full_html=False, default_width="100%", default_height=500,
                           validate=False)
            return {"text/html": html}

    pio.renderers["caviar_docs"] = OfflineGalleryRenderer()
    pio.renderers.default = "caviar_docs"


def _copy_plotly_js(app: Any) -> None:
    import plotly

    src = Path(plotly.__file__).parent / "package_data" / PLOTLY_JS
    static = Path(app.outdir) / "_static"
    static.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, static / PLOTLY_JS)


def _add_plotly_js(app: Any, pagename: str, templatename: str, context: dict, doctree: Any):
    if "plotly-graph-div" in context.get("body", ""):
        app.add_js_file(PLOTLY_JS, priority=100)


def setup(app: Any) -> dict[str, Any]:
    _register_renderer()
    app.connect("builder-inited", _copy_plotly_js)
    app.connect("html-page-context", _add_plotly_js)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
