"""Caviar's contestants in ``benchmarks/search.py``, each run in its own process by
``benchmarks/fair.py`` (``fair.run_caviar("search_caviar.py:caviar_search", ...)``):
``caviar tune`` over the benchmark's configurations, and the oracle floor (the best
configuration trained alone until it reaches a target)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from search import SPACE, base_config  # noqa: E402  (benchmarks/ is no package)


def run_caviar(source: str, n: int, epochs: int, data=None, workers=None, **search) -> dict:
    from caviar.tuning.dispatch import ExecutorSpec
    from caviar.tuning.runner import tune
    from caviar.tuning.storage import import_backend

    import_backend()  # modules only (as the peers' imports), before the clock starts

    out = tempfile.mkdtemp(prefix="caviar-bench-")
    try:
        start = time.perf_counter()
        r = tune(
            base_config(source, n, epochs, **search),
            out=out,
            data=data,
            executor=ExecutorSpec(workers=workers),
            outputs=False,  # the search alone, as the peers (no model/report files)
            verbose=0,  # no progress bar (a refresh thread) in a measurement
        )
        wall = time.perf_counter() - start
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return {
        "seconds": wall,
        "val": r.val_score,
        "test": r.test_score,
        "storage_seconds": r.storage_seconds,
        "storage_busy_seconds": r.storage_busy_seconds,
        "trace": r.trace,
        "epoch_trace": r.epoch_trace,
        "counts": r.counts,
        "trials": [t.record() for t in r.trials],  # caviar.trial.Trial as plain JSON
    }


def caviar_search(
    source: str, n: int, epochs: int, workers: int | None, threads: int | None, **search
) -> dict:
    """Caviar's search in its own process (:func:`fair.run_caviar`): the data prepared
    before the clock, torch's threads its defaults unless ``--threads``."""
    import torch

    from caviar.data import prepare_data

    if threads:
        torch.set_num_threads(threads)
    data = prepare_data(source, seed=0)
    return run_caviar(source, n, epochs, data, workers, **search)


def oracle_contestant(source: str, epochs: int, trials: list[dict], target: float) -> dict:
    """:func:`oracle_time_to` in its own process, on the data prepared before its clock."""
    from caviar.data import prepare_data

    return oracle_time_to(source, epochs, trials, target, prepare_data(source, seed=0))


def oracle_time_to(source: str, epochs: int, trials: list[dict], target: float, data) -> dict:
    """A floor for any search on caviar's engine: the time one configuration, trained
    alone (a population of one), needs to reach ``target`` on validation, for the
    configuration of ``trials`` (the equal-work run: every one ran all epochs) that
    reached it in the fewest epochs. A search that knew this configuration in advance
    would still need that long; the clock includes building the trainer."""
    import torch

    from caviar.config import validate_config
    from caviar.training.trainer import PopulationTrainer
    from caviar.tuning.space import parse_space
    from caviar.tuning.storage import decode_params

    reach = [
        (next(e for e, v in enumerate(t["history"]["val_score"]) if v >= target - 1e-12), t)
        for t in trials
        if any(v >= target - 1e-12 for v in t["history"]["val_score"] if v is not None)
    ]
    if not reach:
        return {"seconds": None, "epochs": None}
    epoch, trial = min(reach, key=lambda r: r[0])
    base = {k: v for k, v in base_config(source, 1, epochs).items() if k != "search"}
    space = parse_space(SPACE, base)
    cfg = validate_config(space.apply(base, decode_params(space, trial["params"])))
    hit: list[float] = []

    def stop_at_target(trainer) -> None:
        if not hit and float(trainer.history["val_score"][-1][0]) >= target - 1e-12:
            hit.append(time.perf_counter() - start)
            trainer.prune(torch.ones(1, dtype=torch.bool))

    start = time.perf_counter()
    PopulationTrainer([cfg], data, callbacks=[stop_at_target]).run()
    return {"seconds": hit[0] if hit else None, "epochs": epoch + 1}
