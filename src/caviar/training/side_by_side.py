"""One population trained as its two halves side by side while the machine is busy.

A population's kernels run on a team of OpenMP threads, and every parallel kernel ends
when the team's last thread does. Beside other CPU-bound processes the OS deschedules
team threads for other processes' time slices, and the team waits for them at each of
the tens of thousands of kernels of a training run. Two halves side by side, each in
its own Python thread on one intra-op thread, never wait for each other inside an epoch
(PyTorch releases the interpreter lock inside every kernel), as populations side by side
in a search already run (:mod:`caviar.tuning.concurrent`). Measured on a 2-core machine
beside 3 CPU-bound processes (``benchmarks/under_load.py``, the training call on
``examples/digits.toml``, 24 members): 2.42-2.52 s, 2.62x the quiet time, against
2.90-3.91 s (3.21x) as one population (the fair share is 2.5x). The halves cost more CPU
than one population (every operator's dispatch twice: 1.92-2.17 CPU seconds against
1.42-1.47 on one thread), so 2.6x is their bound there.

So :meth:`caviar.training.trainer.PopulationTrainer.run` calls :func:`train_halves` when
:func:`wanted` says so: the machine is busy as training starts (fewer cores free than
usable, :func:`caviar.openmp.free_cores`), the device is the CPU with at least two
intra-op threads, the population has at least two members of a kind whose result does
not depend on the thread count (:data:`THREAD_FREE_KINDS`), and nothing outside the
trainer watches its epochs (no callbacks or panda-mode controls: they would see half
populations; no folds of unequal sizes, no snapshots). ``CAVIAR_LOAD_AWARE_THREADS=0``
turns it off with the load-aware thread count. A quiet machine trains as before.

The result is the one population's, bitwise. Each half is a trainer over its rows in
the same state (:func:`caviar.training.compact.compact`); each member follows the
trajectory it follows alone. The halves run epoch by epoch in lockstep until no member
of either is alive, as the one population's loop does, so a half whose members have all
stopped goes on frozen and records the same histories; after each epoch the progress
report hears the whole population. At the end each half restores its members' best
weights and :func:`caviar.training.compact.join_rows` writes them back into the whole
trainer, which collects the result.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

import torch

from caviar.openmp import enabled, free_cores, intra_op_threads, usable_cores
from caviar.training.compact import compact, join_rows
from caviar.training.epoch_report import epoch_summary

#: Model kinds whose training gives bitwise the same result on one and on two intra-op
#: threads (measured: the MLP with batch norm or dropout, GRU and bidirectional LSTM
#: models). The built-in CNN's convolutions round differently (1.2e-7 apart after four
#: epochs), and a module population may hold convolutions, so those train as one.
THREAD_FREE_KINDS = ("mlp", "rnn")


def machine_busy() -> bool:
    """Whether other processes keep some of this process's usable cores (at least two)
    busy now: :func:`caviar.openmp.free_cores` below :func:`caviar.openmp.usable_cores`."""
    cores = usable_cores()
    free = free_cores(cores)
    return cores >= 2 and free is not None and free < cores


def wanted(trainer) -> bool:
    """Whether ``trainer`` (not yet run) trains as two halves side by side (module doc)."""
    return (
        enabled()
        and threading.current_thread() is threading.main_thread()
        and torch.device(trainer.device).type == "cpu"
        and trainer.size >= 2
        and trainer.configs[0].model.kind in THREAD_FREE_KINDS
        and torch.get_num_threads() >= 2
        and not trainer.callbacks
        and trainer.fold_sizes is None
        and getattr(trainer, "fold_group", None) is None
        and trainer.snapshot_every is None
        and not trainer.history["train_loss"]
        and machine_busy()
    )


def train_halves(whole) -> None:
    """Run ``whole``'s epochs as its two halves side by side, restore their best weights
    and join them back into ``whole`` (module doc); ``whole`` then holds the state its own
    loop would have left."""
    keeps = [list(range(whole.size // 2)), list(range(whole.size // 2, whole.size))]
    halves = [compact(whole, keep) for keep in keeps]
    for half in halves:
        half.on_epoch = None  # the whole population's progress is reported below
    with intra_op_threads(1), ThreadPoolExecutor(2, thread_name_prefix="caviar-half") as pool:
        for epoch in range(whole.epochs):
            for done in [pool.submit(half.run_epoch, epoch) for half in halves]:
                done.result()
            _report(whole, halves)
            if not any(bool(half.alive.any()) for half in halves):
                break
    for half in halves:
        if half.has_val and half.restore_best:
            half.restore_best_epochs()
    join_rows(whole, list(zip(halves, keeps, strict=True)))


def _report(whole, halves) -> None:
    """``whole.on_epoch(epoch, epochs, alive, best)`` of the whole population (as
    :class:`caviar.training.epoch_report.EpochReport` would call it)."""
    if whole.on_epoch is None:
        return
    summaries = [epoch_summary(half) for half in halves]
    bests = [s[3] for s in summaries if not math.isnan(s[3])]
    alive = sum(s[2] for s in summaries)
    whole.on_epoch(summaries[0][0], whole.epochs, alive, max(bests, default=float("nan")))


__all__ = ["THREAD_FREE_KINDS", "machine_busy", "train_halves", "wanted"]
