"""Populations side by side in one process: one Python thread per population.

A population is one vectorized program, but its small tensors leave cores idle: the
elementwise work of a step is below PyTorch's parallel grain, and the Python between
the kernels runs on one core. Two populations in two threads keep two cores busy; each
thread runs its kernels on ``cores // workers`` intra-op threads (one, on two cores),
and PyTorch releases the interpreter lock inside every kernel.

One intra-op thread per population also holds up on a machine that is busy with other
work. With two OpenMP threads on two cores, every parallel kernel waits at its barrier
for a thread the OS has descheduled: measured on this 2-core machine while another job
ran, a 64-configuration digits search took 1.2–1.6 s with two populations in two threads
against 1.2–21 s with one population at a time on two OpenMP threads.

Results do not depend on this: a population's trajectory depends only on its own
configurations and seeds (:mod:`caviar.tuning.executor_protocol`), so the same trials come out in
any order. Populations are yielded as they finish; at most ``workers`` run at once,
each started only when ``may_start()`` allows it (the time budget).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import torch

from caviar.openmp import intra_op_threads
from caviar.tuning.executor import run_population
from caviar.tuning.executor_protocol import EpochHook, Outcome, PopulationJob


def run_side_by_side(
    jobs: list[PopulationJob],
    data: Any,
    may_start: Callable[[], bool],
    on_epoch: EpochHook | None,
    workers: int,
    train: Callable[..., list] = run_population,
) -> Iterator[Outcome]:
    """Train ``jobs`` with up to ``workers`` at once; yield ``(job, records, None)`` as each
    finishes. An exception in a population is raised here, as in the sequential loop, once
    the populations already running have finished and been yielded (none starts after it).
    ``train`` trains one population (:func:`caviar.tuning.executor.run_population`)."""
    queue = iter(jobs)
    abort = AbortSignal()
    with (
        intra_op_threads(torch.get_num_threads() // workers),
        ThreadPoolExecutor(workers, thread_name_prefix="caviar-population") as pool,
    ):
        running: dict[Future, PopulationJob] = {}

        def start_next() -> None:
            for job in queue:
                if not may_start():
                    return
                callbacks = [*job.callbacks, abort]
                future = pool.submit(
                    train, job.configs, data, callbacks=callbacks, on_epoch=on_epoch
                )
                running[future] = job
                return

        try:
            for _ in range(workers):
                start_next()
            error: BaseException | None = None
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                # failures first: populations finishing with one then start nothing more
                for future in sorted(done, key=lambda f: f.exception() is None):
                    job = running.pop(future)
                    if future.exception() is not None:
                        error = error or future.exception()  # start nothing more
                        continue
                    if error is None:
                        start_next()
                    yield job, future.result(), None  # finished work is kept, even after an error
            if error is not None:
                raise error
        except BaseException:  # Ctrl-C, or the caller stopped: running populations stop too
            abort.set()
            raise


class Aborted(Exception):
    """Raised inside a population thread whose search was interrupted."""


class AbortSignal:
    """Trainer callback: raises :class:`Aborted` after the epoch once :meth:`set` was called
    (the threads cannot be interrupted otherwise; Ctrl-C reaches the main thread only)."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def __call__(self, trainer) -> None:
        if self._event.is_set():
            raise Aborted("the search was interrupted")
