"""``--executor ray``: every population is a Ray task on a cluster.

* **Connect.** ``address=None`` starts a private Ray instance on this machine;
  ``"auto"`` joins the cluster already running here; ``host:port`` (the head's
  GCS port) or ``ray://host:port`` (Ray Client, needs ``ray[client]``) joins a
  remote one. A TCP probe with a bounded timeout comes first, so an unreachable
  address is one error line, never a hang.
* **Data once.** The prepared data set goes into the object store once per
  search (``ray.put``); every task gets the same ``ObjectRef`` (Ray resolves it
  to the shared copy on each node).
* **Scheduling.** Each task requests ``num_cpus`` CPUs and ``num_gpus`` GPUs
  (fractional: ``0.25`` packs four populations on one GPU). The driver keeps at
  most ``capacity = floor(cluster CPUs / num_cpus)`` (and likewise for GPUs)
  tasks in flight and submits the next population as soon as one finishes
  (``ray.wait``), so the time budget is honoured and a round's populations
  stream through the cluster.
* **Faults.** A worker process that dies mid-population (killed, out of
  memory, node lost) makes Ray rerun the task, up to ``max_retries`` times; the
  population is deterministic, so a rerun gives the same trials. When the
  retries are spent the population's trials are recorded as ``failed`` with the
  reason. An exception raised by the training code itself is not retried: it is
  raised in the driver, as with the local executor. Results come back to the
  driver, which alone writes the study, so a killed driver loses only what it
  had not written and ``--resume`` reruns exactly that.
"""

from __future__ import annotations

import logging
import math
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

from caviar.errors import CaviarError
from caviar.nn.factory import registered_for
from caviar.tuning.executor import MemberRecord, run_population
from caviar.tuning.executor_protocol import EpochHook, Outcome, PopulationJob


def import_ray():
    """``ray``, or a one-line error naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise CaviarError(
            "--executor ray needs Ray: pip install 'caviar[ray]' (or pip install ray)"
        ) from None
    return ray


def _host_port(address: str) -> tuple[str, int]:
    rest = address.split("://", 1)[-1]
    host, sep, port = rest.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise CaviarError(f"--address '{address}': expected host:port, ray://host:port or auto")
    return host.strip("[]"), int(port)


def probe(address: str, timeout: float) -> None:
    """Raise a one-line error unless a TCP connection to ``address`` opens in ``timeout``."""
    host, port = _host_port(address)
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise CaviarError(f"cannot reach the Ray cluster at {address}: {reason}") from None


def _population_task(
    configs: list, data: Any, callbacks: list, threads: int, factories: dict | None = None
) -> list[MemberRecord]:
    """The Ray task: train one population on the worker (``data`` arrives resolved).
    ``factories``: module factories registered on the driver (``caviar.train(module=...)``),
    shipped by Ray's pickling so a function from a script or notebook works remotely."""
    import torch

    from caviar.nn.factory import install

    install(factories or {})
    torch.set_num_threads(max(1, threads))
    recs = run_population(configs, data, callbacks=callbacks)
    for r in recs:  # the driver may have no GPU: ship the weights on the CPU
        r.weights = {k: v.detach().cpu() for k, v in r.weights.items()}
    return recs


#: Ray's switch for cluster networking; "0" keeps a local instance on 127.0.0.1.
LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


class RayExecutor:
    """Runs populations as Ray tasks; see the module docstring."""

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        cpus: float = 1.0,
        gpus: float = 0.0,
        max_retries: int = 3,
        connect_timeout: float = 10.0,
    ) -> None:
        if cpus <= 0 or gpus < 0 or max_retries < 0:
            raise CaviarError(
                "ray executor: cpus per population must be > 0, gpus >= 0, retries >= 0"
            )
        self.ray = import_ray()
        self.cpus, self.gpus, self.max_retries = float(cpus), float(gpus), int(max_retries)
        self.owns_ray = False
        if not self.ray.is_initialized():
            self._connect(address, connect_timeout)
            self.owns_ray = True
        resources = self.ray.cluster_resources()
        have_cpu, have_gpu = float(resources.get("CPU", 0)), float(resources.get("GPU", 0))
        if have_cpu < self.cpus or have_gpu < self.gpus:
            self.close()
            raise CaviarError(
                f"the Ray cluster has {have_cpu:g} CPUs and {have_gpu:g} GPUs; a population "
                f"asks for {self.cpus:g} CPUs and {self.gpus:g} GPUs"
            )
        cap = math.floor(have_cpu / self.cpus + 1e-9)
        if self.gpus > 0:
            cap = min(cap, math.floor(have_gpu / self.gpus + 1e-9))
        self.capacity = max(1, cap)
        self.remote = self.ray.remote(_population_task).options(
            num_cpus=self.cpus,
            num_gpus=self.gpus,
            max_retries=self.max_retries,
            retry_exceptions=False,
        )
        self.puts = 0  # objects this executor put in the object store (the data: once)

    def _connect(self, address: str | None, timeout: float) -> None:
        ray = self.ray
        kwargs: dict[str, Any] = {
            "log_to_driver": False,
            "logging_level": logging.WARNING,
        }
        try:
            if address is None or address == "local":
                # a private single-machine instance listens on loopback only (Ray's
                # cluster mode would bind the machine's network address instead)
                os.environ.setdefault(LOOPBACK_ONLY, "0")
                ray.init(include_dashboard=False, **kwargs)
            elif address == "auto":
                ray.init(address="auto", **kwargs)
            else:
                probe(address, timeout)
                ray.init(address=address, **kwargs)
        except CaviarError:
            raise
        except Exception as e:  # noqa: BLE001 - any connection failure, one line
            first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            where = address or "a local instance"
            raise CaviarError(f"cannot connect to the Ray cluster at {where}: {first}") from None

    def run(
        self,
        jobs: list[PopulationJob],
        data: Any,
        may_start: Callable[[], bool],
        on_epoch: EpochHook | None = None,  # epochs run remotely: not reported
    ) -> Iterator[Outcome]:
        ray = self.ray
        if not jobs:
            return
        ref = self._data_ref(data)
        threads = max(1, int(self.cpus))
        queue = list(jobs)
        running: dict[Any, PopulationJob] = {}
        stopped = False
        while queue or running:
            while queue and not stopped and len(running) < self.capacity:
                if not may_start():
                    stopped = True
                    break
                job = queue.pop(0)
                factories = registered_for(job.configs)
                running[self.remote.remote(job.configs, ref, job.callbacks, threads, factories)] = (
                    job
                )
            if not running:
                return
            (done,), _ = ray.wait(list(running), num_returns=1)
            job = running.pop(done)
            try:
                recs = ray.get(done)
            except ray.exceptions.RayTaskError as e:
                # the training code raised: as with the local executor, so does the search
                raise e.as_instanceof_cause() from None
            except ray.exceptions.RayError as e:
                first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                reason = (
                    f"ray: population lost after {self.max_retries + 1} attempts "
                    f"({type(e).__name__}: {first})"
                )
                yield job, None, reason
                continue
            yield job, recs, None

    def _data_ref(self, data: Any):
        """The data's ObjectRef, put in the object store on first use only."""
        if getattr(self, "_data", None) is not data:
            self._ref = self.ray.put(data)
            self._data = data
            self.puts += 1
        return self._ref

    def close(self) -> None:
        """Drop the data reference; disconnect if this executor started Ray."""
        self._ref = None
        self._data = None
        if self.owns_ray and self.ray.is_initialized():
            self.ray.shutdown()
            self.owns_ray = False
