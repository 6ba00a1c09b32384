"""A verdict on a trained model from its train and validation scores (:ref:`bg-baselines`:
bias vs variance).

With ``train`` and ``val`` the best member's scores (accuracy or R^2, higher is
better) and ``base`` the naive baseline's validation score, in this order:

* **not learning**: ``val <= base + margin`` (it does not beat the baseline);
* **underfitting**: ``train < base + (1 - base) * fit`` (training closes less
  than ``fit`` of the gap between the baseline and a perfect score: high bias);
* **overfitting**: ``train - val > gap`` (high variance);
* **fine** otherwise.

``perfect`` is the best possible score: 1 for accuracy, R² and the other bounded
metrics, 0 for the negated errors (``neg_log_loss``, ``neg_rmse``, ``neg_mae``),
whose scale is the data's: for these ``margin`` and ``gap`` are fractions of the
baseline's error ``perfect - base``.
"""

from __future__ import annotations

import math

MARGIN = 0.01
FIT = 0.5
GAP = 0.05


def verdict(
    train: float,
    val: float,
    base: float,
    *,
    margin: float = MARGIN,
    fit: float = FIT,
    gap: float = GAP,
    perfect: float = 1.0,
) -> dict:
    """``{"verdict", "reason", train/val/baseline numbers}``; see the module docstring."""
    if perfect != 1.0 and math.isfinite(base):
        margin, gap = margin * abs(perfect - base), gap * abs(perfect - base)
    nums = {"train_score": train, "val_score": val, "baseline_val_score": base}
    if not math.isfinite(val) or val <= base + margin:
        return {
            **nums,
            "verdict": "not learning",
            "reason": f"validation {val:.4f} does not beat the baseline {base:.4f}",
        }
    if not math.isfinite(train) or train < base + (perfect - base) * fit:
        return {
            **nums,
            "verdict": "underfitting",
            "reason": f"training score {train:.4f} closes less than {fit:.0%} of the gap "
            f"from the baseline {base:.4f} to {perfect:g}",
        }
    if train - val > gap:
        return {
            **nums,
            "verdict": "overfitting",
            "reason": f"train {train:.4f} - validation {val:.4f} = {train - val:.4f} > {gap:.4g}",
        }
    return {
        **nums,
        "verdict": "fine",
        "reason": f"validation {val:.4f} beats the baseline {base:.4f}; "
        f"train-val gap {train - val:.4f}",
    }
