"""The executor interface: what the search loop hands an executor and what comes back.

The search loop (``caviar.tuning.search``) plans a round's populations as
:class:`PopulationJob` s and iterates ``executor.run(jobs, data, may_start,
on_epoch)``, which yields :data:`Outcome` s ``(job, records, error)`` as
populations finish. ``may_start()`` is asked before each population starts (the
time budget); ``on_epoch(epoch, epochs, alive, best)`` (:data:`EpochHook`) is
called after each epoch of a population where the executor can report it (the
Ray executor cannot: its epochs run remotely); an
``error`` (a string) means the population was lost for good and its trials are
recorded as failed with that reason.

The implementations, each in its own module above this one:

* :class:`~caviar.tuning.local_executor.LocalExecutor` (the default) trains them
  in this process, one after another or side by side
  (:func:`caviar.tuning.concurrent.run_side_by_side`);
* :class:`~caviar.tuning.ray_executor.RayExecutor` (``--executor ray``) runs each
  as a Ray task.

:func:`caviar.tuning.dispatch.make_executor` picks one from the user's
:class:`~caviar.tuning.dispatch.ExecutorSpec`. Populations are deterministic (the
trainer is seeded per member and the callbacks per population), so the executor
changes where a trial runs, never its result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from caviar.config import RunConfig
    from caviar.tuning.executor import MemberRecord

EpochHook = Callable[[int, int, int, float], None]
Outcome = tuple["PopulationJob", "list[MemberRecord] | None", "str | None"]


@dataclass
class PopulationJob:
    """One population: its trial indices, configurations (same structure), callbacks."""

    indices: list[int]
    configs: list[RunConfig]
    callbacks: list[Any] = field(default_factory=list)


class Executor(Protocol):
    """Where populations run: ``run`` yields each job's outcome as it finishes."""

    name: str

    def run(
        self,
        jobs: list[PopulationJob],
        data: Any,
        may_start: Callable[[], bool],
        on_epoch: EpochHook | None = None,
    ) -> Iterator[Outcome]: ...

    def close(self) -> None: ...
