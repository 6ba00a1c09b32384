"""Any Optuna sampler as a search strategy, a whole round asked at once.

A round of ``n`` configurations is ``n`` asks of the sampler before any of them is
told, as a user of Optuna's ask-and-tell interface would run ``n`` trials in parallel;
each sampler's own batch mechanism spreads them (TPE's constant liar, the Gaussian
process's treatment of running trials, a CMA-ES or NSGA generation drawing its members
from one distribution, the next points of a quasi-random sequence). The whole
population of a round then trains as one vectorized program.

Reproducible from ``search.seed`` and the finished trials, as every strategy is
(:mod:`caviar.tuning.strategies.base`), by two kinds of rebuild:

* **stateless samplers** (``gp``): the finished trials are added to a fresh
  in-memory study, then the round is asked;
* **stateful samplers** (``cmaes``, ``qmc``, ``nsga2``, ``nsga3``: their asks depend on
  their own earlier asks -- generations, sequence positions -- recorded in the trials'
  system attributes): every earlier round is replayed, ``batch`` asks then the tells of
  those trials' real scores, before the new round is asked. A replayed ask that does not
  give the stored configuration (a changed batch size, an enqueued configuration) is told
  failed and the stored trial added as it was, so the sampler still sees every result.

Trials from another run (``caviar tune --from``) are added first, as Optuna's
``study.add_trials`` would. Non-finite scores (pruned, diverged, failed) are FAIL trials.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from caviar.errors import CaviarWarning
from caviar.tuning.space import SearchSpace
from caviar.tuning.strategies.base import History, Params, Strategy
from caviar.tuning.strategies.optuna_study import (
    add_history,
    completed_trial,
    distributions,
    finite,
    from_study_params,
    quiet_study,
    same_params,
    told,
)
from caviar.tuning.strategies.sampler_args import NO_CATEGORICALS, STATEFUL, make_sampler


class OptunaSamplerStrategy(Strategy):
    """Strategy ``name`` (a key of :data:`~caviar.tuning.strategies.sampler_args.SAMPLERS`)
    asking ``n`` configurations a round of an Optuna sampler built with ``sampler_args``.

    Parameters
    ----------
    name : str
        ``"gp"``, ``"cmaes"``, ``"qmc"``, ``"nsga2"`` or ``"nsga3"``.
    sampler_args : dict
        Keyword arguments of the sampler's constructor (``[search.sampler]``).
    seed : int
        The sampler's seed (``search.seed``).
    batch : int
        Configurations per round (the search's round size): the stateful samplers replay
        earlier rounds in chunks of it.
    prior : list of (params, score)
        Finished trials of another run, seen by the sampler before this search's own.
    directions : list of str, optional
        Several objectives (``search.objectives``): the study is multi-objective and the
        history's scores are tuples of their values.
    """

    adaptive = True

    def __init__(
        self,
        name: str,
        sampler_args: dict[str, Any] | None = None,
        *,
        seed: int = 0,
        batch: int = 16,
        prior: History | None = None,
        directions: list[str] | None = None,
    ) -> None:
        self.name = name
        self.directions = list(directions) if directions else None
        self.sampler_args = dict(sampler_args or {})
        self.seed = int(seed)
        self.batch = max(int(batch), 1)
        self.prior = list(prior or [])
        self._noted = False

    def suggest(
        self, space: SearchSpace, history: History, n: int, rng: np.random.Generator
    ) -> list[Params]:
        stateful = self.name in STATEFUL
        # a stateful sampler replays every round from one seed; a stateless one is fresh
        # each round, seeded from the round's generator (as TPE is)
        seed = self.seed if stateful else int(rng.integers(2**31))
        sampler = make_sampler(self.name, self.sampler_args, seed, space)
        self._note_independent(space)
        dists = distributions(space)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import optuna

            study = quiet_study(sampler, self.directions)
            optuna.logging.set_verbosity(optuna.logging.ERROR)
            add_history(study, space, self.prior, dists)
            if stateful:
                self._replay(study, space, history, dists)
            else:
                add_history(study, space, history, dists)
            asked = [study.ask(dists) for _ in range(n)]
            return [from_study_params(space, t.params) for t in asked]

    def _replay(self, study: Any, space: SearchSpace, history: History, dists: dict) -> None:
        """Ask and tell every earlier round again, ``batch`` at a time."""
        for lo in range(0, len(history), self.batch):
            chunk = history[lo : lo + self.batch]
            asked = [study.ask(dists) for _ in chunk]
            for trial, (params, score) in zip(asked, chunk, strict=True):
                if not same_params(space, from_study_params(space, trial.params), params):
                    study.tell(trial, state=_fail())
                    study.add_trial(completed_trial(space, params, score, dists))
                elif finite(score):
                    study.tell(trial, told(score))
                else:
                    study.tell(trial, state=_fail())

    def _note_independent(self, space: SearchSpace) -> None:
        """One note, once, when the sampler draws some dimensions independently at random."""
        if self._noted or self.name not in NO_CATEGORICALS:
            return
        self._noted = True
        cats = [d.path for d in space.dimensions if d.categorical]
        if cats:
            warnings.warn(
                f"search: {self.name} handles numeric dimensions only; "
                f"{', '.join(cats)} drawn independently at random (as Optuna does)",
                CaviarWarning,
                stacklevel=3,
            )


def _fail():
    import optuna

    return optuna.trial.TrialState.FAIL
