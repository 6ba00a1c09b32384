"""Choosing the executor: ``--executor``, ``--address`` and the resources -> an :class:`Executor`.

:func:`make_executor` turns what the user asked for (:class:`ExecutorSpec`, a
name, or ``None`` for the default) into one of the implementations of the
executor interface (:mod:`caviar.tuning.executor_protocol`):
:class:`~caviar.tuning.local_executor.LocalExecutor` or, for ``ray``,
:class:`~caviar.tuning.ray_executor.RayExecutor` (imported only then: Ray is an
optional extra).
"""

from __future__ import annotations

from dataclasses import dataclass

from caviar.errors import CaviarError
from caviar.tuning.executor_protocol import EpochHook, Executor, Outcome, PopulationJob
from caviar.tuning.local_executor import LocalExecutor

# the interface's names, where callers have imported them from
__all__ = [
    "EpochHook",
    "Executor",
    "ExecutorSpec",
    "LocalExecutor",
    "Outcome",
    "PopulationJob",
    "make_executor",
]


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
        from caviar.tuning.ray_executor import RayExecutor  # Ray is optional: only when asked

        return RayExecutor(
            address=spec.address,
            cpus=spec.cpus_per_population,
            gpus=spec.gpus_per_population,
            max_retries=spec.max_retries,
            connect_timeout=spec.connect_timeout,
        )
    raise CaviarError(f"unknown executor '{spec.name}' (choose local or ray)")
