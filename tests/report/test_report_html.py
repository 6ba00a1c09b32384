"""caviar.report.html: the leaderboard table and a report of a run with no scored trial."""

import math
import re
from pathlib import Path

import optuna
import pandas as pd

from caviar.report.data import RunData, _numeric, _rank, load_run
from caviar.report.html import build_html, leaderboard_table


def test_leaderboard_table_rows_follow_the_ranking(tune_run):
    run = load_run(tune_run)
    table = leaderboard_table(run)
    ids = [int(i) for i in re.findall(r'<tr class="[^"]*" data-id="(\d+)">', table)]
    assert ids == run.trials["id"].tolist()
    assert table.count('class="best"') == 1
    assert f'class="best" data-id="{run.best_id}"' in table
    values = re.findall(r'<td data-col="val_score">([^<]*)</td>', table)
    assert [float(v) for v in values] == [round(v, 4) for v in run.trials["val_score"]]


def test_report_of_a_run_without_any_scored_trial():
    trials = _rank(
        _numeric(
            pd.DataFrame(
                {
                    "id": [0, 1],
                    "status": ["failed", "diverged"],
                    "val_score": [math.nan, math.nan],
                    "optimizer.lr": [0.1, 1.0],
                }
            )
        )
    )
    curves = pd.DataFrame(
        {
            "id": [1, 1],
            "epoch": [1, 2],
            "train_loss": [1.0, math.inf],
            "val_loss": [1.0, math.nan],
            "train_score": [0.1, 0.1],
            "val_score": [0.1, math.nan],
        }
    )
    run = RunData(
        "tune",
        Path("run"),
        trials,
        curves,
        ["optimizer.lr"],
        {"optimizer.lr": "log"},
        study=optuna.create_study(direction="maximize"),
    )
    assert run.best_id is None
    text = build_html(run)
    assert "hyperparameter importance could not be computed" in text
    assert 'id="fig-curves"' in text and 'class="best"' not in text
