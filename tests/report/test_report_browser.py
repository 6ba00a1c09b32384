"""The report in headless Chromium (Debian's ``chromium``, driven by playwright):
no console errors, every section present and every plot rendered (non-empty SVG),
the leaderboard matches the study and sorts and filters, and a screenshot saved to
``test-artifacts/report.png``."""

import math
import shutil
import tempfile
from pathlib import Path

import optuna
import pytest

from caviar.cli.main import main

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
EXPECTED = [
    "fig-history",
    "fig-curves",
    "fig-scores",
    "fig-params",
    "fig-importance",
    "fig-contour",
    "fig-parallel",
    "fig-rounds",
    "fig-grads",
    "fig-gradnorms-0",
    "fig-lrrange-0",
]
SECTIONS = [
    "overview",
    "leaderboard-section",
    "history",
    "curves",
    "params",
    "importance",
    "contours",
    "parallel",
    "rounds",
    "gradients",
    "diagnosis",
]
PLOTS = """() => [...document.querySelectorAll('.js-plotly-plot')].map(d => ({
    id: d.id,
    traces: (d.data || []).length,
    svg: d.querySelectorAll('svg.main-svg').length,
    marks: d.querySelectorAll('svg .trace, svg .point, svg .bars path, svg .parcoords').length,
    paths: d.querySelectorAll('svg path').length,
}))"""
ROWS = """() => [...document.querySelectorAll('#leaderboard tbody tr')].map(r => {
    const cell = c => r.querySelector(`td[data-col="${c}"]`).textContent;
    return {trial: cell('id'), number: r.querySelector('td[data-col="id"]').dataset.number,
            value: cell('val_score'), status: cell('status'),
            shown: r.style.display !== 'none'};
})"""
HEADERS = (
    """() => [...document.querySelectorAll('#leaderboard thead th')].map(h => h.textContent)"""
)
SECTION_IDS = """() => [...document.querySelectorAll('main > section')].map(s => s.id)"""


def _page_results(html: Path):
    from playwright.sync_api import sync_playwright

    messages = []
    with tempfile.TemporaryDirectory() as user_data, sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            user_data,
            executable_path=str(CHROMIUM),
            args=ARGS,
            headless=True,
            viewport={"width": 1400, "height": 900},
        )
        try:
            page = ctx.new_page()
            page.on("console", lambda m: messages.append((m.type, m.text)))
            page.on("pageerror", lambda e: messages.append(("pageerror", str(e))))
            page.goto(html.as_uri(), wait_until="load")
            page.wait_for_function(
                f"document.querySelectorAll('.js-plotly-plot').length >= {len(EXPECTED)}"
            )
            plots, rows = page.evaluate(PLOTS), page.evaluate(ROWS)
            sections, headers = page.evaluate(SECTION_IDS), page.evaluate(HEADERS)
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
            # sorting: a click on "trial" sorts by it, a second click reverses
            page.click('#leaderboard th[data-col="id"]')
            ascending = page.evaluate(ROWS)
            page.click('#leaderboard th[data-col="id"]')
            descending = page.evaluate(ROWS)
            # filtering: one status, then a text that one trial's row holds
            page.select_option("#board-status", "pruned")
            pruned = page.evaluate(ROWS)
            count = page.text_content("#board-count")
            page.select_option("#board-status", "")
            page.fill("#board-filter", "no row holds this text")
            nothing = page.evaluate(ROWS)
            page.fill("#board-filter", "")
            page.locator("#leaderboard-section").screenshot(
                path=str(ARTIFACTS / "report-leaderboard.png")
            )
        finally:
            ctx.close()
    return (
        messages,
        plots,
        rows,
        {
            "sections": sections,
            "headers": headers,
            "ascending": ascending,
            "descending": descending,
            "pruned": pruned,
            "count": count,
            "nothing": nothing,
        },
    )


@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (/usr/bin/chromium)")
def test_report_renders_in_chromium(tune_run, diagnose_dir, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tune_run, run)
    out = tmp_path / "report.html"
    assert main(["report", str(run), "-o", str(out), "--diagnose", str(diagnose_dir)]) == 0
    messages, plots, rows, ui = _page_results(out)

    errors = [m for m in messages if m[0] in ("error", "pageerror")]
    assert errors == []
    by_id = {p["id"]: p for p in plots}
    assert sorted(by_id) == sorted(EXPECTED)
    for pid, p in by_id.items():
        assert p["traces"] > 0 and p["svg"] > 0, pid
        assert p["marks"] > 0 and p["paths"] > 0, pid  # drawn, not an empty frame
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
    assert ui["sections"] == SECTIONS
    assert "study #" not in ui["headers"] and ui["headers"][1] == "trial"  # one trial number

    def trials_of(rows):
        return [int(r["trial"]) for r in rows]

    assert trials_of(ui["ascending"]) == sorted(trials_of(rows))
    assert trials_of(ui["descending"]) == sorted(trials_of(rows), reverse=True)
    shown = [r for r in ui["pruned"] if r["shown"]]
    assert shown and all(r["status"] == "pruned" for r in shown)
    assert len(shown) == sum(r["status"] == "pruned" for r in rows)
    assert ui["count"] == f"{len(shown)} of {len(rows)} shown"
    assert not any(r["shown"] for r in ui["nothing"])

    # the leaderboard: every trial of the study once, with its value, best first
    study = optuna.load_study(study_name="search", storage=f"sqlite:///{run}/study.db")
    trials = {t.number: t for t in study.get_trials()}
    assert sorted(int(r["number"]) for r in rows) == sorted(trials)
    for r in rows:
        t = trials[int(r["number"])]
        assert int(r["trial"]) == t.user_attrs["index"]
        assert r["status"] == t.user_attrs["status"]
        assert math.isclose(float(r["value"]), t.value, abs_tol=5e-5)
    values = [float(r["value"]) for r in rows]
    assert values == sorted(values, reverse=True)
    assert math.isclose(values[0], study.best_value, abs_tol=5e-5)
