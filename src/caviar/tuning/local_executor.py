"""The default executor: populations in this process, one after another or side by side.

With ``workers > 1`` (by default one per intra-op thread PyTorch would use) the
populations of a round train side by side, one thread each
(:mod:`caviar.tuning.concurrent`); with ``workers=1`` one after another. Either way
they are yielded in completion order (see :mod:`caviar.tuning.executor_protocol`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import torch

from caviar.errors import CaviarError
from caviar.tuning.concurrent import run_side_by_side
from caviar.tuning.executor import run_population
from caviar.tuning.executor_protocol import EpochHook, Outcome, PopulationJob


class LocalExecutor:
    """Populations in this process (the default): up to ``workers`` side by side, one
    thread each (:mod:`caviar.tuning.concurrent`), or one after another with ``workers=1``.
    ``workers=None`` means one per intra-op thread PyTorch would use (its core count)."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        if workers is not None and workers < 1:
            raise CaviarError(f"--workers must be at least 1, got {workers}")
        self.workers = workers

    @property
    def concurrency(self) -> int:
        """How many populations may hold memory at once (the planner divides its budget)."""
        return self.workers if self.workers is not None else max(1, torch.get_num_threads())

    def run(
        self,
        jobs: list[PopulationJob],
        data: Any,
        may_start: Callable[[], bool],
        on_epoch: EpochHook | None = None,
    ) -> Iterator[Outcome]:
        workers = min(self.concurrency, len(jobs))
        if workers > 1:
            yield from run_side_by_side(
                jobs, data, may_start, on_epoch, workers, train=run_population
            )
            return
        for job in jobs:
            if not may_start():
                return
            recs = run_population(job.configs, data, callbacks=job.callbacks, on_epoch=on_epoch)
            yield job, recs, None

    def close(self) -> None:
        pass
