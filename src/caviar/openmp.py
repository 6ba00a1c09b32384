"""Speed on a busy machine: OpenMP threads that sleep, and no more threads than free cores.

PyTorch's CPU kernels run on an OpenMP team (GNU ``libgomp`` in the PyPI wheels; MKL
and oneDNN share it). Two things make a population collapse when other processes
keep the cores busy:

1. **Spinning at barriers.** With ``OMP_WAIT_POLICY`` unset, a ``libgomp`` thread
   that reaches the end of a parallel region busy-waits (``GOMP_SPINCOUNT`` = 300,000
   iterations) for the rest of its team before it sleeps. On an oversubscribed core
   that spin steals the time slice of the very thread it waits for. Measured on this
   2-core machine under a load average of 5-10 (other jobs): ``caviar train
   examples/digits.toml`` took 35-74 s against 3.1-6.2 s with
   ``OMP_WAIT_POLICY=PASSIVE`` and 3.2 s on one thread, in the same run.
   :func:`prefer_passive_waiting` sets ``OMP_WAIT_POLICY=PASSIVE`` (honoured by
   ``libgomp`` and Intel's ``libiomp``, which then uses ``KMP_BLOCKTIME=0``) unless
   the user set it. The OpenMP runtime reads it once, when it is loaded -- when
   ``torch`` is imported -- so ``import caviar`` does it before importing torch;
   where torch was imported first it is too late for this process, and
   :func:`adjust_threads` still applies.
2. **Waiting for a descheduled team member.** Even sleeping, every parallel kernel
   ends when its *last* thread does; a thread the OS has descheduled for another
   process's time slice stalls the whole team. :func:`adjust_threads` runs each
   epoch of a training loop (inside :func:`load_aware_threads`) on
   ``min(threads, cores free)`` intra-op threads, where

       cores free = usable cores - (runnable tasks - this process's runnable threads)

   read from ``/proc/loadavg`` (the kernel's instantaneous count of runnable tasks)
   and ``/proc/self/task/*/stat``, the least of three reads, at the start of every
   epoch. On a quiet machine it changes nothing; beside ``N`` CPU-bound
   processes on ``C`` cores the population gets its fair share, about ``(N + C) / C``
   times its quiet time (``benchmarks/under_load.py``).

The thread count is not part of a result: a 16-configuration digits search gave
bitwise the same trials on one and two intra-op threads (README, "Populations side by
side"). ``CAVIAR_LOAD_AWARE_THREADS=0`` switches the thread
adjustment off; ``OMP_WAIT_POLICY=ACTIVE`` restores spinning.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

READS = 3


def prefer_passive_waiting(environ: dict | None = None) -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` unless set already; True when this process's OpenMP
    runtime will see it (torch not imported yet)."""
    env = os.environ if environ is None else environ
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return "torch" not in sys.modules


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def runnable_tasks() -> int | None:
    """The kernel's current count of runnable tasks (``/proc/loadavg`` field 4), or None."""
    try:
        return int(Path("/proc/loadavg").read_text().split()[3].split("/")[0])
    except (OSError, IndexError, ValueError):
        return None


def own_runnable_threads() -> int:
    """This process's threads in state ``R`` (the reading thread is one of them)."""
    count = 0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return 1
    for tid in tasks:
        try:
            stat = Path(f"/proc/self/task/{tid}/stat").read_text()
        except OSError:
            continue
        if stat[stat.rfind(")") + 2 :].startswith("R"):
            count += 1
    return max(1, count)


def free_cores(cores: int | None = None) -> int | None:
    """Usable cores not taken by other processes' runnable tasks (the least busy of
    :data:`READS` reads); None where the kernel does not say (not Linux)."""
    cores = usable_cores() if cores is None else cores
    others = []
    for _ in range(READS):
        running = runnable_tasks()
        if running is None:
            return None
        others.append(max(0, running - own_runnable_threads()))
    return max(0, cores - min(others))


def enabled() -> bool:
    return os.environ.get("CAVIAR_LOAD_AWARE_THREADS", "1") != "0"


_state = threading.local()


@contextmanager
def load_aware_threads() -> Iterator[None]:
    """Inside this block :func:`adjust_threads` may lower torch's intra-op thread count;
    the count on entry (torch's default, ``OMP_NUM_THREADS`` or ``torch.set_num_threads``)
    is the ceiling, restored on exit. Only the outermost block in the main thread counts
    (populations side by side already run one thread each)."""
    if (
        getattr(_state, "ceiling", None) is not None
        or threading.current_thread() is not threading.main_thread()
        or not enabled()
    ):
        yield
        return
    import torch  # here, not at the top: ``import caviar`` runs this module before torch

    _state.ceiling = _state.threads = torch.get_num_threads()
    try:
        yield
    finally:
        if _state.threads != _state.ceiling:
            torch.set_num_threads(_state.ceiling)
        _state.ceiling = None


def load_aware(fn: Callable) -> Callable:
    """Decorator: run ``fn`` inside :func:`load_aware_threads` (a training loop's entry)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with load_aware_threads():
            return fn(*args, **kwargs)

    return wrapper


def adjust_threads(device="cpu", free: Callable[[], int | None] | None = None) -> int | None:
    """Called once an epoch: set torch's threads to ``max(1, min(ceiling, free()))``
    (``free`` defaults to :func:`free_cores`) inside :func:`load_aware_threads` on a CPU
    device; returns the count (None: no-op)."""
    ceiling = getattr(_state, "ceiling", None)
    if ceiling is None or ceiling <= 1 or not str(device).startswith("cpu"):
        return None
    cores = (free or free_cores)()
    want = ceiling if cores is None else max(1, min(ceiling, cores))
    if want != _state.threads:
        import torch

        torch.set_num_threads(want)
        _state.threads = want
    return want
