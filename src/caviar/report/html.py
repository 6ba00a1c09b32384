"""Assembling the report: one self-contained HTML file (plotly.js inlined once, no
network access needed: gzip-compressed and base64-encoded, 2.0 MB instead of 4.8,
unpacked by the browser's ``DecompressionStream`` before the figures are drawn) with
the leaderboard (``caviar.report.leaderboard``) and the figures of
:mod:`caviar.report.figures`, one section each: optimization history, loss and score
curves, hyperparameters, importance, contours, parallel coordinates, rounds, the
gradient monitor, diagnosis."""

from __future__ import annotations

import base64
import functools
import gzip
import html
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import plotly.io as pio
from plotly.offline import get_plotlyjs

from caviar.atomic import atomic_file
from caviar.report import figures
from caviar.report.data import RunData
from caviar.report.gradient_monitor import gradient_monitor_figure, run_gradients
from caviar.report.importance import importance_info
from caviar.report.leaderboard import fmt as _fmt
from caviar.report.leaderboard import leaderboard_table
from caviar.version import __version__

CONFIG = {"displaylogo": False, "responsive": True}
CSS = """
body { font-family: Helvetica, Arial, sans-serif; margin: 0; color: #222; background: #f6f7f9; }
header { background: #1f2d3d; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 6px 0; font-size: 24px; }
header p { margin: 2px 0; color: #cfd8e3; }
nav { padding: 8px 32px; background: #e9edf2; font-size: 14px; }
nav a { margin-right: 16px; color: #1f4e79; text-decoration: none; }
main { padding: 8px 32px 40px 32px; max-width: 1400px; }
section { background: #fff; border-radius: 6px; padding: 12px 20px; margin: 16px 0;
          box-shadow: 0 1px 3px rgba(0,0,0,.12); }
h2 { font-size: 19px; margin: 6px 0 10px 0; }
.note { color: #6b5b00; background: #fff8d6; padding: 8px 12px; border-radius: 4px; }
.facts { border-collapse: collapse; }
.facts td { padding: 3px 14px 3px 0; }
.board-wrap { max-height: 520px; overflow: auto; }
table.leaderboard { border-collapse: collapse; font-size: 13px; }
table.leaderboard th { position: sticky; top: 0; background: #1f2d3d; color: #fff;
                       padding: 6px 10px; text-align: right; }
table.leaderboard td { padding: 4px 10px; text-align: right; border-bottom: 1px solid #e3e6ea; }
table.leaderboard tr.best td { background: #fde2e2; font-weight: bold; }
table.leaderboard th { cursor: pointer; user-select: none; }
table.leaderboard th[data-sort="asc"]::after { content: " \\25B2"; }
table.leaderboard th[data-sort="desc"]::after { content: " \\25BC"; }
table.leaderboard tr.pruned td { color: #777; }
table.leaderboard tr.early_stopped td { color: #1e6b1e; }
table.leaderboard tr.converged td { color: #5b3f7a; }
.board-controls { margin: 0 0 8px 0; font-size: 13px; }
.board-controls input { width: 240px; padding: 3px 6px; }
.board-controls .hint, #board-count { color: #666; margin-left: 8px; }
table.leaderboard tr.diverged td, table.leaderboard tr.failed td { color: #b35900; }
"""


PLOT_SCRIPT = "text/x-caviar-plot"  # a figure's script, run once plotly.js is unpacked
LOADER = """(async () => {
  const packed = document.getElementById("plotlyjs-gzip");
  const bytes = Uint8Array.from(atob(packed.textContent), c => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  const lib = document.createElement("script");
  lib.text = await new Response(stream).text();
  document.head.appendChild(lib);
  for (const plot of document.querySelectorAll('script[type="PLOT_SCRIPT"]')) {
    const run = document.createElement("script");
    run.text = plot.textContent;
    plot.replaceWith(run);
  }
})().catch(err => {
  const note = document.getElementById("plotly-missing");
  note.textContent = "The figures need a browser with DecompressionStream (Chrome 80, "
    + "Firefox 113, Safari 16.4 or newer): " + err;
  note.style.display = "block";
});""".replace("PLOT_SCRIPT", PLOT_SCRIPT)


@functools.cache
def packed_plotlyjs() -> str:
    """plotly.js gzip-compressed (deterministically: mtime 0) and base64-encoded."""
    return base64.b64encode(gzip.compress(get_plotlyjs().encode(), 9, mtime=0)).decode()


def _figure(fig, div_id: str) -> str:
    text = pio.to_html(fig, full_html=False, include_plotlyjs=False, div_id=div_id, config=CONFIG)
    return re.sub(r"<script\b[^>]*>", f'<script type="{PLOT_SCRIPT}">', text, count=1)


def _facts(pairs: list[tuple[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td><b>{html.escape(k)}</b></td><td>{html.escape(_fmt(v))}</td></tr>"
        for k, v in pairs
        if v is not None and v != ""
    )
    return f'<table class="facts">{rows}</table>'


def _section(sid: str, title: str, body: str) -> tuple[str, str, str]:
    return sid, title, f'<section id="{sid}"><h2>{html.escape(title)}</h2>{body}</section>'


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def _run_facts(run: RunData) -> list[tuple[str, Any]]:
    s = run.summary
    counts = run.trials["status"].value_counts().to_dict() if not run.trials.empty else {}
    who = "trial" if run.kind == "tune" else "member"
    best_val = float(run.trials["val_score"].iloc[0]) if run.best_id is not None else None
    facts: list[tuple[str, Any]] = [
        ("run", f"caviar {run.kind} run in {run.run_dir}"),
        ("study", run.study_name),
        ("trials / members", len(run.trials) if not run.trials.empty else None),
        ("status", ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or None),
        ("best", f"{who} {run.best_id}" if run.best_id is not None else None),
        (f"best validation {run.score_name}", best_val),
        (f"test {run.score_name} (final model, scored once)", s.get("test_score")),
        ("seconds", s.get("seconds")),
    ]
    return facts


def _diagnosis(run: RunData) -> str:
    parts = []
    base, verdict = run.summary.get("baseline"), run.summary.get("diagnosis")
    if isinstance(base, dict) or isinstance(verdict, dict):
        base, verdict = base or {}, verdict or {}
        parts.append(
            _facts(
                [
                    ("naive baseline", base.get("name")),
                    (f"baseline validation {run.score_name}", base.get("val_score")),
                    (f"baseline test {run.score_name}", base.get("test_score")),
                    ("verdict", verdict.get("verdict")),
                    ("why", verdict.get("reason")),
                ]
            )
        )
    trees = run.summary.get("trees") or (run.summary.get("diagnosis") or {}).get("trees")
    if isinstance(trees, dict) and "verdict" in trees:
        parts.append(
            _facts(
                [
                    ("boosted trees (same split)", trees.get("name")),
                    (f"trees validation {trees.get('metric')}", trees.get("val_score")),
                    (f"trees test {trees.get('metric')}", trees.get("test_score")),
                    ("network against trees", trees.get("verdict")),
                    ("why", trees.get("reason")),
                ]
            )
        )
    for k, rep in enumerate(run.diagnose):
        cfg = rep.get("config") or {}
        fit = rep.get("fit") or {}
        cond = rep.get("conditioning") or {}
        gc = rep.get("gradient_check") or {}
        model = cfg.get("model") or {}
        parts.append(f"<h3>caviar diagnose: configuration {k + 1}</h3>")
        parts.append(
            _facts(
                [
                    ("model", f"hidden={model.get('hidden')} activation={model.get('activation')}"),
                    ("optimizer", (cfg.get("optimizer") or {}).get("name")),
                    ("gradient check", "ok" if gc.get("ok") else ("failed" if gc else None)),
                    ("Hessian condition number", cond.get("condition_number")),
                    ("naive baseline validation score", fit.get("baseline_score")),
                    ("train / validation score", _pair(fit)),
                    ("verdict", fit.get("verdict")),
                ]
            )
        )
        for name, fig in (
            ("gradnorms", figures.gradient_norms(rep)),
            ("lrrange", figures.lr_range(rep)),
        ):
            if fig is not None:
                parts.append(_figure(fig, f"fig-{name}-{k}"))
        lr = rep.get("lr_range_test") or {}
        if lr.get("applicable") and lr.get("lrs") and figures.is_flat(lr.get("losses") or []):
            parts.append(
                _note(
                    "learning-rate range test: no clear minimum (the loss is flat over the "
                    "range tried); no rate is suggested"
                )
            )
        if lr and not lr.get("applicable"):
            parts.append(_note(f"learning-rate range test not applicable: {lr.get('reason')}"))
    if not parts:
        return _note(
            "no diagnosis in this run (run `caviar diagnose CONFIG -o DIR` and pass --diagnose DIR)"
        )
    return "".join(parts)


def _pair(fit: dict) -> str | None:
    if "train_score" not in fit:
        return None
    return f"{_fmt(fit.get('train_score'))} / {_fmt(fit.get('val_score'))}"


def build_html(run: RunData) -> str:
    """The whole report as one HTML string."""
    sections = []
    if not run.trials.empty:
        sections.append(_section("leaderboard-section", "Leaderboard", leaderboard_table(run)))
        pareto = figures.pareto_front(run)  # several objectives (search.objectives)
        if pareto is not None:
            sections.append(_section("pareto", "Pareto front", _figure(pareto, "fig-pareto")))
        history = figures.optimization_history(run)
        if history is not None:
            sections.append(
                _section("history", "Optimization history", _figure(history, "fig-history"))
            )
        sections.append(
            _section(
                "curves",
                "Learning curves",
                _figure(figures.learning_curves(run), "fig-curves")
                + _figure(figures.score_curves(run), "fig-scores")
                if not run.curves.empty
                else _note("no per-epoch history in this run"),
            )
        )
        if run.params:
            sections.append(
                _section(
                    "params",
                    "Hyperparameters",
                    _figure(figures.params_vs_score(run), "fig-params"),
                )
            )
        order: list[str] = []  # the contours pair the most important parameters
        if run.kind == "tune":
            info = importance_info(run.study)
            order = info.order
            fig, note = figures.importance(run, info)
            body = _figure(fig, "fig-importance") if fig is not None else ""
            sections.append(
                _section(
                    "importance", "Hyperparameter importance", (_note(note) if note else "") + body
                )
            )
        if run.params:
            contour = figures.contours(run, order or None)
            if contour is not None:
                sections.append(_section("contours", "Contours", _figure(contour, "fig-contour")))
            sections.append(
                _section(
                    "parallel",
                    "Parallel coordinates",
                    _figure(figures.parallel_coordinates(run), "fig-parallel"),
                )
            )
        r = figures.rounds(run)
        if r is not None:
            sections.append(_section("rounds", "Coarse-to-fine rounds", _figure(r, "fig-rounds")))
        who = "trial" if run.kind == "tune" else "member"
        grads = gradient_monitor_figure(run_gradients(run), who=who)
        if grads is not None:  # per-member gradient norms (bg-vanishing-gradients)
            sections.append(_section("gradients", "Gradient monitor", _figure(grads, "fig-grads")))
    sections.append(_section("diagnosis", "Diagnosis", _diagnosis(run)))
    nav = "".join(f'<a href="#{sid}">{html.escape(t)}</a>' for sid, t, _ in sections)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = f"Caviar report: {run.run_dir.name or run.run_dir}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style>"
        f'<script type="application/base64" id="plotlyjs-gzip">{packed_plotlyjs()}</script>'
        "</head><body>"
        f"<header><h1>{html.escape(title)}</h1>"
        f"<p>generated by caviar {__version__} on {stamp}</p></header>"
        f'<nav>{nav}</nav><main><section id="overview"><h2>Overview</h2>'
        f"{_facts(_run_facts(run))}</section>{''.join(s for _, _, s in sections)}</main>"
        '<p id="plotly-missing" style="display:none;color:#b35900;padding:0 32px"></p>'
        f"<script>{LOADER}</script></body></html>\n"
    )


def write_report(run: RunData, out: str | Path) -> Path:
    """Write the report to ``out`` all-or-nothing; returns the path."""
    out = Path(out)
    text = build_html(run)
    with atomic_file(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o644)  # a report is meant to be shared (mkstemp makes 0600)
    return out
