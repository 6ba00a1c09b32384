"""Speed on a quiet machine and on a busy one: how OpenMP threads wait, and how many run.

PyTorch's CPU kernels run on an OpenMP team (GNU ``libgomp`` in the PyPI wheels; MKL
and oneDNN share it). Two settings decide its speed, and the best value of each depends
on whether other processes keep the cores busy:

1. **How a thread waits at a barrier** (the wait policy). ``libgomp`` reads it ONCE,
   when it is loaded -- when ``torch`` is imported:

   * ``OMP_WAIT_POLICY=ACTIVE``: a thread that reaches the end of a parallel region
     spins until the next one starts. Fastest on a quiet machine (the next kernel finds
     its team awake); measured on a quiet 2-core machine, ``benchmarks/population.py``
     took 7.15 s against 9.26 s with ``PASSIVE``. On an oversubscribed core the spin
     steals the time slice of the very thread it waits for: ``caviar train
     examples/digits.toml`` took 35-74 s against 3.1-6.2 s with ``PASSIVE`` under a
     load average of 5-10.
   * ``OMP_WAIT_POLICY=PASSIVE``: the thread sleeps at once (about 30% slower quiet).
   * neither (``libgomp``'s default): spin ``GOMP_SPINCOUNT`` = 300,000 iterations,
     then sleep; ``GOMP_SPINCOUNT=N`` sets that count (``benchmarks/under_load.py
     --policies`` measures values side by side).

   Caviar's default, ``CAVIAR_WAIT_POLICY=load``, decides when torch is imported, from
   the machine's load at that moment (:func:`wait_settings`): every usable core free
   (``/proc/loadavg``'s runnable count, the least of three reads, less this process's
   own runnable threads) gives ``GOMP_SPINCOUNT`` = :data:`QUIET_SPINCOUNT`
   (3,000,000: a thread spins about 75 ms on this 2-core EPYC before it sleeps, ten
   times ``libgomp``'s default); another process running gives ``PASSIVE``. Why:

   * quiet, a team spins through every gap between the kernels of a training step
     (microseconds) and of an epoch, as ``ACTIVE`` does, so it keeps ``ACTIVE``'s speed;
   * ``ACTIVE`` itself never stops spinning: measured here, after
     :func:`adjust_threads` dropped a run to one thread, the idle team thread still
     burned CPU through a one-second sleep of the main thread (0.11 s of CPU beside a
     load of 15; ``PASSIVE``, the default and 10,000 spins: 0.0 s). A bounded spin puts
     that thread to sleep within a tenth of a second, so a machine that turns busy
     after a quiet start is handed back its cores, and :func:`adjust_threads` gives
     the fair share;
   * a machine busy at the start gets ``PASSIVE``, which never spins. Beside a load
     average of 15-19 (other jobs), ``benchmarks/under_load.py --policies`` measured
     ``caviar.train`` on ``examples/digits.toml`` beside one more busy process at
     64.1 s with ``ACTIVE`` against 27-39 s with the others (one run each; so noisy
     a machine only separates ``ACTIVE`` from the rest); at a load average of 4.8-9.4,
     quiet-ish / beside 1 / beside 3 busy processes: ``ACTIVE`` 9.5 / 20.1 / 25.0 s,
     ``PASSIVE`` 9.5 / 15.2 / 15.0 s, 3,000,000 spins 6.1 / 8.2 / 6.3 s, ``load``
     5.9 / 5.2 / 6.8 s. The quiet comparison against ``ACTIVE`` (target: at least 0.97
     of its speed) is still to be measured on an idle machine.

   ``CAVIAR_WAIT_POLICY`` also takes ``active``, ``passive``, ``default`` (``libgomp``'s
   own) or a number (``GOMP_SPINCOUNT``). A user's own ``OMP_WAIT_POLICY``,
   ``GOMP_SPINCOUNT`` or ``KMP_BLOCKTIME`` wins: Caviar then sets nothing.

   **Only Caviar's own process gets it.** :func:`install_wait_policy` (run by ``import
   caviar``) puts the chosen variables in ``os.environ`` only while torch's import runs
   and restores the environment right after (:data:`applied` records what the runtime
   saw), so subprocesses -- scikit-learn's joblib workers, a user's own children -- see
   the environment the user had. Where torch was imported before caviar it is too late
   for this process, and :func:`adjust_threads` still applies.
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
   times its quiet time (``benchmarks/under_load.py``). An MLP or recurrent population
   whose training starts on a busy machine trains as its two halves side by side
   instead, each on one intra-op thread in its own Python thread
   (:mod:`caviar.training.side_by_side`).

The thread count is not part of an MLP's or a recurrent model's result: a
16-configuration digits search gave bitwise the same trials on one and two intra-op
threads (README, "Populations side by side"). The built-in CNN's convolutions round
differently on one and on two threads (weights about 1e-7 apart after four epochs).
``CAVIAR_LOAD_AWARE_THREADS=0`` switches the thread adjustment off.
"""

from __future__ import annotations

import functools
import importlib.abc
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

READS = 3
#: The variables that set how OpenMP threads wait (``libgomp`` and Intel's ``libiomp``).
WAIT_VARIABLES = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")
#: The user's own wait settings when caviar was imported (None: not set).
USER_WAIT_SETTINGS: dict[str, str | None] = {k: os.environ.get(k) for k in WAIT_VARIABLES}
#: ``GOMP_SPINCOUNT`` of the ``load`` policy on a quiet machine (see the module doc).
QUIET_SPINCOUNT = 3_000_000
#: What torch's OpenMP runtime saw from Caviar when it loaded (empty: nothing set).
applied: dict[str, str] = {}


def prefer_passive_waiting(environ: dict | None = None) -> bool:
    """Set ``OMP_WAIT_POLICY=PASSIVE`` in ``environ`` unless set already; True when this
    process's OpenMP runtime will see it (torch not imported yet). ``import caviar`` no
    longer calls it (see :func:`install_wait_policy`)."""
    env = os.environ if environ is None else environ
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return "torch" not in sys.modules


def wait_settings(
    policy: str | None = None, free: int | None = None, cores: int | None = None
) -> dict[str, str]:
    """The wait variables Caviar gives its own OpenMP runtime: none where the user set
    one of :data:`WAIT_VARIABLES`; else by ``policy`` (default ``CAVIAR_WAIT_POLICY``,
    else ``"load"``): ``"active"``, ``"passive"``, ``"default"`` (none), a number
    (``GOMP_SPINCOUNT``) or ``"load"``: ``GOMP_SPINCOUNT`` = :data:`QUIET_SPINCOUNT`
    when ``free`` (default :func:`free_cores`) equals ``cores`` (default
    :func:`usable_cores`), else ``PASSIVE``.

    Examples
    --------
    Where the user set no wait policy of their own:

    >>> wait_settings("load", free=1, cores=2)  # doctest: +SKIP
    {'OMP_WAIT_POLICY': 'PASSIVE'}
    """
    if any(v is not None for v in USER_WAIT_SETTINGS.values()):
        return {}
    policy = (policy or os.environ.get("CAVIAR_WAIT_POLICY") or "load").strip().lower()
    if policy == "load":
        cores = usable_cores() if cores is None else cores
        free = free_cores(cores) if free is None else free
        if free is None:  # the kernel does not say (not Linux): the runtime's default
            return {}
        policy = str(QUIET_SPINCOUNT) if free >= cores else "passive"
    if policy in ("active", "passive"):
        return {"OMP_WAIT_POLICY": policy.upper()}
    if policy.isdigit():
        return {"GOMP_SPINCOUNT": policy}
    if policy != "default":
        warnings.warn(
            f"CAVIAR_WAIT_POLICY={policy!r} is not load, active, passive, default or a "
            "number; using the OpenMP runtime's default",
            stacklevel=2,
        )
    return {}


@contextmanager
def wait_settings_applied(settings: dict[str, str]) -> Iterator[dict[str, str]]:
    """``settings`` in ``os.environ`` inside the block only (recorded in :data:`applied`);
    the environment is restored exactly on exit."""
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    applied.clear()
    applied.update(settings)
    try:
        yield settings
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


class _WaitPolicyOnImport(importlib.abc.MetaPathFinder):
    """Finds ``module`` with the other finders, and runs its import inside
    :func:`wait_settings_applied` (once; then it leaves ``sys.meta_path``)."""

    def __init__(self, module: str) -> None:
        self.module = module

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001
        if fullname != self.module:
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run = loader.exec_module

        def exec_module(module) -> None:  # noqa: ANN001
            with wait_settings_applied(wait_settings()):
                run(module)

        loader.exec_module = exec_module
        return spec


def install_wait_policy(module: str = "torch") -> bool:
    """Give this process's OpenMP runtime Caviar's wait settings (:func:`wait_settings`)
    while ``module`` is first imported, and only then; False where it is imported
    already (too late)."""
    if module in sys.modules:
        return False
    if not any(getattr(f, "module", None) == module for f in sys.meta_path):
        sys.meta_path.insert(0, _WaitPolicyOnImport(module))
    return True


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


@contextmanager
def intra_op_threads(n: int) -> Iterator[None]:
    """PyTorch's intra-op thread count set to ``n`` inside the block, restored after."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


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
