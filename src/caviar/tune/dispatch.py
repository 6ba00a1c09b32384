"""Where populations run: the executor the search loop hands its populations to.

The search loop (``caviar.tune.runner``) plans a round's populations as
:class:`PopulationJob` s and iterates ``executor.run(jobs, data, may_start,
on_epoch)``, which yields ``(job, records, error)`` as populations finish:

* :class:`LocalExecutor` (the default) trains them in this process, up to one per
  core side by side (:mod:`caviar.tune.concurrent`), in completion order;
* ``RayExecutor`` (``caviar.tune.ray_executor``, ``--executor ray``) runs each
  as a Ray task and yields them in completion order.

``may_start()`` is asked before each population starts (the time budget); an
``error`` (a string) means the population was lost for good (e.g. its Ray
worker died more often than the retries allow) and its trials are recorded as
failed with that reason. Populations are deterministic (the trainer is seeded
per member and the callbacks per population), so the executor changes where a
trial runs, never its result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from caviar.config import RunConfig
from caviar.errors import CaviarError
from caviar.tune.concurrent import run_side_by_side
from caviar.tune.executor import MemberRecord, run_population

EpochHook = Callable[[int, int, int, float], None]
Outcome = tuple["PopulationJob", "list[MemberRecord] | None", "str | None"]


@dataclass
class PopulationJob:
    """One population: its trial indices, configurations (same structure), callbacks."""

    indices: list[int]
    configs: list[RunConfig]
    callbacks: list[Any] = field(default_factory=list)


class Executor(Protocol):
    name: str

    def run(
        self,
        jobs: list[PopulationJob],
        data: Any,
        may_start: Callable[[], bool],
        on_epoch: EpochHook | None = None,
    ) -> Iterator[Outcome]: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Populations in this process (the default): up to ``workers`` side by side, one
    thread each (:mod:`caviar.tune.concurrent`), or one after another with ``workers=1``.
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


@dataclass
class ExecutorSpec:
    """What the user asked for (``--executor``, ``--address`` and the resources)."""

    name: str = "local"
    address: str | None = None
    cpus_per_population: float = 1.0
    gpus_per_population: float = 0.0
    max_retries: int = 3
    connect_timeout: float = 10.0
    workers: int | None = None  # local: populations side by side (None: one per core)


def make_executor(spec: ExecutorSpec | str | None) -> Executor:
    """The executor for ``spec`` (connects to the cluster for ``ray``)."""
    if spec is None:
        spec = ExecutorSpec()
    elif isinstance(spec, str):
        spec = ExecutorSpec(name=spec)
    if spec.name == "local":
        if spec.address is not None:
            raise CaviarError("--address needs --executor ray")
        return LocalExecutor(spec.workers)
    if spec.name == "ray":
        if spec.workers is not None:
            raise CaviarError("--workers is for the local executor (ray: --cpus-per-population)")
        from caviar.tune.ray_executor import RayExecutor

        return RayExecutor(
            address=spec.address,
            cpus=spec.cpus_per_population,
            gpus=spec.gpus_per_population,
            max_retries=spec.max_retries,
            connect_timeout=spec.connect_timeout,
        )
    raise CaviarError(f"unknown executor '{spec.name}' (choose local or ray)")
