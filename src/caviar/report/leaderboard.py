"""The report's leaderboard: every trial (or member) ranked, sortable and filterable.

One identifier everywhere: ``trial`` is caviar's trial index (the ``index`` user
attribute in Optuna's tools, ``best_index`` in ``summary.json``, the ``trial``
column of ``leaderboard.csv``); the Optuna trial number is only in each row's
``data-number`` (and its tooltip). Clicking a header sorts by that column
(numbers as numbers, again to reverse); the filter box keeps the rows containing
its text, the status menu the rows of one status. A search with several objectives
ranks the Pareto front first: a ``front`` column (1 = the Pareto front, 0: on
none) and one column per objective follow the trial.
"""

from __future__ import annotations

import html
import math
from typing import Any

from caviar.report.pareto import PREFIX
from caviar.report.style import short

SCRIPT = """
(() => {
  const table = document.getElementById('leaderboard');
  if (!table) return;
  const body = table.tBodies[0];
  const text = document.getElementById('board-filter');
  const status = document.getElementById('board-status');
  const count = document.getElementById('board-count');
  const key = (row, col) => {
    const s = row.querySelector(`td[data-col="${col}"]`).textContent.trim();
    const n = Number(s);
    return s === '' ? null : (Number.isNaN(n) ? s : n);
  };
  table.querySelectorAll('th').forEach(th => th.addEventListener('click', () => {
    const col = th.dataset.col;
    const dir = th.dataset.sort === 'asc' ? 'desc' : 'asc';
    table.querySelectorAll('th').forEach(h => delete h.dataset.sort);
    th.dataset.sort = dir;
    const rows = [...body.rows];
    rows.sort((a, b) => {
      const x = key(a, col), y = key(b, col);
      if (x === null) return 1;
      if (y === null) return -1;
      const c = (typeof x === 'number' && typeof y === 'number') ? x - y
        : String(x).localeCompare(String(y));
      return dir === 'asc' ? c : -c;
    });
    rows.forEach(r => body.appendChild(r));
  }));
  const apply = () => {
    const q = text.value.trim().toLowerCase();
    const s = status.value;
    let shown = 0;
    [...body.rows].forEach(r => {
      const ok = (!q || r.textContent.toLowerCase().includes(q)) &&
                 (!s || key(r, 'status') === s);
      r.style.display = ok ? '' : 'none';
      shown += ok ? 1 : 0;
    });
    count.textContent = `${shown} of ${body.rows.length} shown`;
  };
  text.addEventListener('input', apply);
  status.addEventListener('change', apply);
  apply();
})();
"""


# cv_std: the folds' spread with search.cv (val_score is then their mean)
BOARD_COLUMNS = (
    "status",
    "val_score",
    "cv_std",
    "val_loss",
    "train_score",
    "best_epoch",
    "epochs_run",
)


def fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return f"{v:.4f}" if 1e-3 <= abs(v) < 1e5 or v == 0 else f"{v:.4g}"
    return str(v)


def leaderboard_table(run) -> str:
    """The ranked trials as an HTML table (``id="leaderboard"``; one row per trial) with
    its filter controls and sorting script."""
    cols = ["rank", "id"]
    # several objectives: the Pareto front first (rank order), then each objective
    objectives = [c for c in run.trials.columns if str(c).startswith(PREFIX)]
    cols += ["front", *objectives] if "front" in run.trials.columns else []
    cols += [c for c in BOARD_COLUMNS if c in run.trials.columns]
    if "round" in run.trials.columns and run.trials["round"].nunique() > 1:
        cols.append("round")
    cols += run.params
    names = {
        "id": "trial" if run.kind == "tune" else "member",
        "val_score": f"val {run.score_name}",
        "cv_std": "± cv std",  # search.cv: val_score is the fold mean
        "val_loss": "val loss",
        "train_score": f"train {run.score_name}",
        "best_epoch": "best epoch",
        "epochs_run": "epochs",
        "front": "front",
        **{c: c.removeprefix(PREFIX) for c in objectives},
    }
    head = "".join(
        f'<th data-col="{html.escape(c)}" title="{html.escape(c)} (click to sort)">'
        f"{html.escape(names.get(c, short(c)))}</th>"
        for c in cols
    )
    best = run.best_id
    has_number = "number" in run.trials.columns
    rows = []
    for _, r in run.trials.iterrows():
        cls = "best" if best is not None and int(r["id"]) == best else str(r.get("status", ""))
        cells = []
        for c in cols:
            extra = ""
            if c == "id" and has_number and r.get("number") == r.get("number"):
                number = int(r["number"])
                extra = f' data-number="{number}" title="Optuna trial number {number}"'
            cells.append(
                f'<td data-col="{html.escape(c)}"{extra}>{html.escape(fmt(r.get(c)))}</td>'
            )
        rows.append(
            f'<tr class="{html.escape(cls)}" data-id="{int(r["id"])}">{"".join(cells)}</tr>'
        )
    statuses = sorted({str(s) for s in run.trials.get("status", [])})
    options = "".join(
        f'<option value="{html.escape(s)}">{html.escape(s)}</option>' for s in statuses
    )
    controls = (
        '<div class="board-controls"><input id="board-filter" type="search" '
        'placeholder="filter rows (any text)"> <select id="board-status">'
        f'<option value="">every status</option>{options}</select> '
        '<span id="board-count"></span> <span class="hint">click a header to sort</span></div>'
    )
    return (
        f'{controls}<div class="board-wrap"><table id="leaderboard" class="leaderboard">'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        f"<script>{SCRIPT}</script>"
    )
