"""Where populations run: the executor the search loop hands its populations to.

The search loop (``caviar.tune.runner``) plans a round's populations as
:class:`PopulationJob` s and iterates ``executor.run(jobs, data, may_start,
on_epoch)``, which yields ``(job, records, error)`` as populations finish:

* :class:`LocalExecutor` (the default) trains them one after another in this
  process, in order;
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

from caviar.config import RunConfig
from caviar.errors import CaviarError
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
    """Populations one after another in this process (the default)."""

    name = "local"

    def run(
        self,
        jobs: list[PopulationJob],
        data: Any,
        may_start: Callable[[], bool],
        on_epoch: EpochHook | None = None,
    ) -> Iterator[Outcome]:
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


def make_executor(spec: ExecutorSpec | str | None) -> Executor:
    """The executor for ``spec`` (connects to the cluster for ``ray``)."""
    if spec is None:
        spec = ExecutorSpec()
    elif isinstance(spec, str):
        spec = ExecutorSpec(name=spec)
    if spec.name == "local":
        if spec.address is not None:
            raise CaviarError("--address needs --executor ray")
        return LocalExecutor()
    if spec.name == "ray":
        from caviar.tune.ray_executor import RayExecutor

        return RayExecutor(
            address=spec.address,
            cpus=spec.cpus_per_population,
            gpus=spec.gpus_per_population,
            max_retries=spec.max_retries,
            connect_timeout=spec.connect_timeout,
        )
    raise CaviarError(f"unknown executor '{spec.name}' (choose local or ray)")
