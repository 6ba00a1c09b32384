"""One member's training diagnostics for its result: the checks at initialization
(:mod:`caviar.training.init_check`) and the gradient monitor
(:mod:`caviar.training.gradient_monitor`), with their warnings in one list."""

from __future__ import annotations


def member_diagnostics(trainer, p: int) -> dict:
    """``{"init": {...}, "gradients": {...}, "warnings": [...]}`` of member ``p``."""
    out: dict = {"warnings": []}
    init = getattr(trainer, "init_check", None)
    if init:
        out["init"] = {k: v for k, v in init[p].items() if k != "warnings"}
        out["warnings"] += init[p]["warnings"]
    monitor = getattr(trainer, "grad_monitor", None)
    if monitor is not None:
        grads = monitor.member_report(p, diverged=bool(trainer.diverged[p]))
        out["gradients"] = {k: v for k, v in grads.items() if k != "warnings"}
        out["warnings"] += grads["warnings"]
    return out


def member_warnings(members) -> dict[str, list[str]]:
    """``{member index: warnings}`` of the members that have any (for run summaries)."""
    out = {}
    for m in members:
        texts = (getattr(m, "diagnostics", None) or {}).get("warnings") or []
        if texts:
            out[str(m.index)] = list(texts)
    return out
