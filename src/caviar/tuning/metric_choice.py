"""What a named ``search.metric`` changed: the trial the default score would have picked.

With ``metric = "roc_auc"`` (say) the search ranks trials by their validation ROC AUC;
every trial also records its best accuracy (R² for regression) over the epochs it ran
(``val_default_score``: what a search ranking by accuracy saw of it, when patience and
halving did not cut it differently). The summary names the trial the default score would have
ranked first, so a user sees when the metric choice changed the winner (the
metric is a decision, not a detail).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

from caviar.training.scoring import AUTO, score_name
from caviar.trial import Trial


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and math.isfinite(v)


def default_choice(
    trials: Sequence[Trial | Mapping[str, Any]],
    best: Trial | Mapping[str, Any],
    metric: str,
    task: str,
) -> dict[str, Any] | None:
    """``{"metric", "default_metric", "best_index", "default_best_index", "differs", ...}``
    or None with ``metric = "auto"`` (or no trial with a default score)."""
    if metric == AUTO:
        return None
    scored = [
        t for t in trials if _finite(t.get("val_default_score")) and _finite(t.get("val_score"))
    ]
    if not scored:
        return None

    def key(t: Trial | Mapping[str, Any]) -> tuple[float, float, int]:
        loss = cast(float, t.get("val_loss"))
        return (-t["val_default_score"], loss if _finite(loss) else math.inf, t["index"])

    other = min(scored, key=key)
    mine = best.get("val_default_score")
    # differs: the metric's choice falls short of the best default score (a tie is no change)
    differs = not _finite(mine) or mine < other["val_default_score"]
    return {
        "metric": score_name(metric, task),
        "default_metric": score_name(AUTO, task),
        "best_index": best["index"],
        "default_best_index": other["index"],
        "differs": differs,
        "best_default_score": best.get("val_default_score"),
        "default_best_score": other["val_default_score"],
    }


def describe(choice: dict[str, Any] | None) -> str | None:
    """One line for the terminal summary (None when there is nothing to say)."""
    if choice is None:
        return None
    m, d = choice["metric"], choice["default_metric"]
    if not choice["differs"]:
        return f"ranked by {m}; trial {choice['best_index']} is also best by {d}"
    return (
        f"ranked by {m}: trial {choice['best_index']} (val {d} "
        f"{choice['best_default_score']:.4f}); by {d} the best would be trial "
        f"{choice['default_best_index']} (val {d} {choice['default_best_score']:.4f})"
    )
