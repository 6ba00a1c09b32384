"""The ``[search]`` section of a config file: strategy, budgets, pruning and refit.

.. code-block:: toml

    [search]
    strategy = "random"        # grid, random, coarse_to_fine, tpe, gp, cmaes, qmc, nsga2, nsga3
    trials = 64                # budget in configurations (and/or time_budget seconds)
    seed = 0
    metric = "roc_auc"         # what trials are ranked by (default: accuracy or R²)
    objectives = ["accuracy", "n_params"]  # several objectives: a Pareto front
    select = "knee"            # which trial of the front is the final model
    cv = 5                     # k-fold cross-validation: score = mean over the folds
    [search.halving]           # successive halving inside each population
    min_epochs = 2             # first rung r; rungs r, r*eta, r*eta^2, ...
    eta = 3                    # keep the best 1/eta at each rung
    [search.space]
    "optimizer.lr" = { log_uniform = [1e-4, 1e-1] }
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from caviar.config.load import format_validation_error
from caviar.config.strict import refuse_bool_numbers, seed_field
from caviar.errors import CaviarError
from caviar.tuning.objectives import check_objectives
from caviar.tuning.strategies.sampler_args import check_sampler_args

MAX_TRIALS = 10**7  # beyond this a budget is a typo: no study of that size fits on disk


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_numbers(cls, v: object, info: ValidationInfo) -> object:
        """``trials = true`` is no budget of 1 trial (:mod:`caviar.config.strict`)."""
        if info.field_name is not None:
            refuse_bool_numbers(cls, info.field_name, v)
        return v


class HalvingSettings(_Section):
    """Successive halving: at rungs r, r*eta, r*eta^2, ... epochs keep the best 1/eta."""

    min_epochs: int = Field(default=2, ge=1, description="first rung r (then r*eta, ...)")
    eta: float = Field(default=3.0, gt=1, description="keep the best 1/eta per rung")


class PBTSettings(_Section):
    """Population-based training: every ``interval`` epochs the worst ``fraction`` copy
    the best ``fraction`` and perturb their continuous hyperparameters."""

    interval: int = Field(default=4, ge=1, description="epochs between PBT steps")
    fraction: float = Field(default=0.25, gt=0, le=0.5, description="share that copies the best")
    perturb: float = Field(default=0.2, gt=0, lt=1, description="factor 1 +- perturb in t")


class SearchSettings(_Section):
    """The ``[search]`` table of ``caviar tune``: the strategy and its budget, successive
    halving or PBT, the refit and the final model (:ref:`bg-search-strategies`)."""

    strategy: Literal[
        "grid", "random", "coarse_to_fine", "tpe", "gp", "cmaes", "qmc", "nsga2", "nsga3"
    ] = Field(
        default="random",
        description="how configurations are chosen: grid, random, coarse_to_fine, or an "
        "Optuna sampler (tpe, gp, cmaes, qmc, nsga2, nsga3) asked a round at a time",
    )
    sampler: dict[str, Any] = Field(
        default_factory=dict,
        description="keyword arguments of the Optuna sampler named by strategy "
        "(checked against its constructor; the seed is search.seed)",
    )
    enqueue: list[dict[str, Any]] | str = Field(
        default_factory=list,
        description="configurations trained first, as tables of dimension = value (or the "
        "path of a JSON file holding that list); dimensions left out are sampled",
    )
    warm_start: str | None = Field(
        default=None,
        description="a run directory whose finished trials (same space) the adaptive "
        "strategies see before this search's own (caviar tune --from)",
    )
    metric: str | None = Field(default=None, description="train.metric for every trial")
    objectives: list[str] | None = Field(
        default=None,
        description="several objectives (a multi-objective study, caviar.tuning.objectives): "
        "a metric first, then metrics, loss, n_params, flops or predict_ms",
    )
    directions: list[Literal["maximize", "minimize"]] | None = Field(
        default=None, description="one per objective (default: each objective's own)"
    )
    select: Literal["first_objective", "knee"] = Field(
        default="first_objective",
        description="the final model among the Pareto front (caviar.tuning.pareto)",
    )
    cv: int | None = Field(default=None, ge=2, description="k folds of train+val (train.cv)")
    trials: int | None = Field(
        default=None, ge=1, le=MAX_TRIALS, description="configurations to try (at most 10^7)"
    )
    time_budget: float | None = Field(default=None, gt=0, description="seconds")
    seed: int = seed_field(description="the sampler's seed")
    grid_points: int = Field(default=3, ge=1, description="values per continuous grid axis")
    batch: int | None = Field(default=None, ge=1, description="configurations per round")
    shrink: float = Field(default=0.5, gt=0, lt=1, description="coarse_to_fine: box shrink")
    top_fraction: float = Field(default=0.25, gt=0, le=1, description="coarse_to_fine")
    halving: HalvingSettings | None = None
    pbt: PBTSettings | None = None
    refit: Literal["none", "train_val"] = Field(
        default="none", description="train_val: refit the best on train+val"
    )
    ensemble_top_k: int = Field(default=1, ge=1, description="average the k best trials")
    memory_budget_mb: float = Field(default=1024.0, gt=0, description="memory for populations")
    max_population: int = Field(default=512, ge=1, description="most members per population")
    space: dict[str, Any] = Field(default_factory=dict, description="config key -> dimension spec")


def apply_search_metric(raw: dict[str, Any], metric: str | None) -> None:
    """``search.metric`` becomes every trial's ``train.metric`` (recorded with each trial,
    so a rebuild scores the same way); a different ``train.metric`` is an error."""
    if metric is None:
        return
    train = raw.setdefault("train", {})
    if not isinstance(train, dict):
        return  # the config's own validation reports it
    if train.get("metric", metric) != metric:
        raise CaviarError(
            f"search.metric '{metric}' and train.metric '{train['metric']}' differ (set one)"
        )
    train["metric"] = metric


def apply_search_cv(raw: dict[str, Any], cv: int | None) -> None:
    """``search.cv`` becomes every trial's ``train.cv`` (as :func:`apply_search_metric`)."""
    if cv is None:
        return
    train = raw.setdefault("train", {})
    if not isinstance(train, dict):
        return
    if train.get("cv", cv) != cv:
        raise CaviarError(f"search.cv {cv} and train.cv {train['cv']} differ (set one)")
    train["cv"] = cv


def check_strategy_inputs(s: SearchSettings) -> None:
    """The sampler arguments fit the strategy; enqueue and warm starts fit it too."""
    check_sampler_args(s.strategy, s.sampler)
    if s.enqueue and s.strategy == "grid":
        raise CaviarError("search.enqueue: grid enumerates its own points; use another strategy")
    if s.warm_start is not None and s.strategy in ("grid", "random"):
        raise CaviarError(
            f"search.warm_start (--from): strategy '{s.strategy}' does not learn from "
            "earlier trials; use tpe, gp, cmaes, qmc, nsga2, nsga3 or coarse_to_fine"
        )


def parse_settings(raw: Any, overrides: dict[str, Any] | None = None) -> SearchSettings:
    """Validate ``[search]`` (with CLI ``overrides``) and check the budgets agree."""
    if not isinstance(raw, dict):
        raise CaviarError("config: a [search] section is required for tuning")
    data = {**raw, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    try:
        s = SearchSettings.model_validate(data)
    except ValidationError as e:
        raise CaviarError(format_validation_error(e, "search")) from None
    if s.cv is not None and s.pbt is not None:
        raise CaviarError(
            "search: cv cannot be combined with pbt (PBT would copy members across folds); "
            "use halving"
        )
    if s.cv is not None and s.refit == "none" and "refit" in s.model_fields_set:
        raise CaviarError(
            "search: with cv the final model is refit on train+validation (refit = 'train_val')"
        )
    check_strategy_inputs(s)
    check_objectives(s)
    if s.halving is not None and s.pbt is not None:
        raise CaviarError("search: halving and pbt cannot both be enabled (choose one)")
    if s.strategy != "grid" and s.trials is None and s.time_budget is None:
        raise CaviarError(f"search: strategy '{s.strategy}' needs trials or time_budget")
    if s.trials is not None and s.ensemble_top_k > s.trials:
        raise CaviarError(
            f"search: ensemble_top_k {s.ensemble_top_k} is more than trials {s.trials}"
        )
    return s
