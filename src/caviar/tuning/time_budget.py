"""``search.time_budget`` inside a population, as a trainer callback.

Between populations the search loop starts no new population once the budget
is spent; inside one, this callback runs after every epoch (after the other
callbacks) and, once the wall clock passes the deadline, stops every member
still alive with ``trainer.finish``: it keeps its best-validation weights (the
trainer restores them as for any stopped member), its status is ``complete``
(Optuna state ``COMPLETE``, value = its best validation score so far, as with
Optuna's own ``timeout``, which never prunes) and its record says
``stopped_by = "time_budget"``. Every member runs at least one epoch.

The deadline is a ``time.time()`` instant, so it holds in a Ray worker on
another machine too (clocks kept in sync, e.g. by NTP).
"""

from __future__ import annotations

import time

from caviar.training.hooks import TrainerCallback

STOPPED_BY = "time_budget"


class TimeBudget(TrainerCallback):
    """Hook (``on_epoch_end``, :mod:`caviar.training.hooks`): finish every live member
    once ``time.time()`` is past ``deadline``."""

    def __init__(self, deadline: float) -> None:
        self.deadline = float(deadline)

    def __call__(self, trainer) -> None:
        if time.time() <= self.deadline:
            return
        stopping = trainer.alive.clone()
        rows = stopping.nonzero().flatten().tolist()
        if not rows:
            return
        log = getattr(trainer, "stopped_by", None)
        if log is not None:
            ids = getattr(trainer, "member_ids", list(range(trainer.size)))
            for r in rows:
                log[ids[r]] = STOPPED_BY
        trainer.finish(stopping)
